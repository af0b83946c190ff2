// SPDX-License-Identifier: GPL-2.0
/*
 * ioctl arguments: extensible structs that start with their own size
 * (as openat2 and clone3 have them), copied in and out in one way for
 * every ioctl of the control device and of dataset fds.
 */
#include <linux/string.h>
#include <linux/uaccess.h>

#include "internal.h"

bool dspm_is_zero(const void *p, size_t len)
{
	return !memchr_inv(p, 0, len);
}

/*
 * Copy a size-first argument struct in: the caller's size must be at least
 * the first version's, at most DSPM_STRUCT_SIZE_MAX, and any tail beyond
 * what this kernel knows must be zero (copy_struct_from_user).
 */
int dspm_copy_arg_in(void *karg, size_t ksize, size_t ver0,
		     const void __user *uarg)
{
	u32 usize;

	if (get_user(usize, (const u32 __user *)uarg))
		return -EFAULT;
	if (usize < ver0)
		return -EINVAL;
	if (usize > DSPM_STRUCT_SIZE_MAX)
		return -E2BIG;
	return copy_struct_from_user(karg, ksize, uarg, usize);
}

/*
 * Before a call changes anything, make sure its results can be written
 * back: write the caller's own bytes back unchanged.  @karg was filled by
 * dspm_copy_arg_in(), so its size field is still the caller's.
 */
int dspm_arg_writable(void __user *uarg, const void *karg, size_t ksize)
{
	size_t len = min_t(size_t, *(const u32 *)karg, ksize);

	return copy_to_user(uarg, karg, len) ? -EFAULT : 0;
}

/*
 * Copy a struct back out, no more than the caller said it has room for;
 * its size field then says how much was written.  The caller's size was
 * checked on the way in by dspm_copy_arg_in(), which every ioctl uses, so
 * output-only structs follow the same size and tail rules.
 */
int dspm_copy_arg_out(void __user *uarg, void *karg, size_t ksize)
{
	u32 usize;

	if (get_user(usize, (const u32 __user *)uarg))
		return -EFAULT;
	usize = min_t(u32, usize, ksize);
	*(u32 *)karg = usize;
	return copy_to_user(uarg, karg, usize) ? -EFAULT : 0;
}
