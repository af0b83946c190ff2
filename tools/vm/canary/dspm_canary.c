// SPDX-License-Identifier: GPL-2.0
/*
 * dspm_canary: a test module that makes the debug kernel's checkers report,
 * on purpose, one bug of each kind they exist for.  Loaded only inside a
 * dspm-vm guest booted with DSPM_VM_KERNEL=debug (tools/vm/test-debug-kernel):
 *
 *   insmod dspm_canary.ko trip=kasan         slab-out-of-bounds read (KASAN)
 *   insmod dspm_canary.ko trip=lockdep       AB-BA mutex order (PROVE_LOCKING)
 *   insmod dspm_canary.ko trip=atomic_sleep  GFP_KERNEL allocation under a
 *                                            spinlock (DEBUG_ATOMIC_SLEEP)
 *
 * None of them corrupts anything or deadlocks: the read is of a slab redzone,
 * the two lock orders are taken one after the other by one thread, and the
 * allocation under the spinlock is reported by might_sleep() before it could
 * sleep.  The module then stays loaded until rmmod.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>

static char *trip = "";
module_param(trip, charp, 0444);
MODULE_PARM_DESC(trip, "kasan, lockdep or atomic_sleep");

static DEFINE_MUTEX(canary_a);
static DEFINE_MUTEX(canary_b);
static DEFINE_SPINLOCK(canary_lock);

static noinline void canary_kasan(void)
{
	size_t len = 16;
	char *p = kmalloc(len, GFP_KERNEL);

	if (!p)
		return;
	OPTIMIZER_HIDE_VAR(len);
	pr_info("dspm_canary: reading 1 byte past a %zu-byte kmalloc\n", len);
	pr_info("dspm_canary: read %d\n", READ_ONCE(p[len]));
	kfree(p);
}

static noinline void canary_lockdep(void)
{
	pr_info("dspm_canary: taking canary_a then canary_b, then the reverse\n");
	mutex_lock(&canary_a);
	mutex_lock(&canary_b);
	mutex_unlock(&canary_b);
	mutex_unlock(&canary_a);
	mutex_lock(&canary_b);
	mutex_lock(&canary_a);
	mutex_unlock(&canary_a);
	mutex_unlock(&canary_b);
}

static noinline void canary_atomic_sleep(void)
{
	void *p;

	pr_info("dspm_canary: GFP_KERNEL allocation under a spinlock\n");
	spin_lock(&canary_lock);
	p = kmalloc(32, GFP_KERNEL);
	spin_unlock(&canary_lock);
	kfree(p);
}

static int __init canary_init(void)
{
	if (!strcmp(trip, "kasan"))
		canary_kasan();
	else if (!strcmp(trip, "lockdep"))
		canary_lockdep();
	else if (!strcmp(trip, "atomic_sleep"))
		canary_atomic_sleep();
	else if (*trip)
		return -EINVAL;
	return 0;
}

static void __exit canary_exit(void)
{
}

module_init(canary_init);
module_exit(canary_exit);
MODULE_DESCRIPTION("dspm test harness: trips KASAN, lockdep, might_sleep on purpose");
MODULE_LICENSE("GPL");
