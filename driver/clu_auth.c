// SPDX-License-Identifier: GPL-2.0
/*
 * Cluster-key MACs for joining (uapi/linux/dspm_wire.h): HMAC-SHA256 from
 * the kernel crypto API over the concatenation of the given parts.
 */
#include <crypto/algapi.h>
#include <crypto/hash.h>

#include "clu.h"

int dspm_auth_mac(const u8 *key, u32 key_len, const struct dspm_mac_part *parts,
		  unsigned int nr, u8 mac[DSPM_WIRE_MAC_SIZE])
{
	struct crypto_shash *tfm;
	unsigned int i;
	int ret;

	tfm = crypto_alloc_shash("hmac(sha256)", 0, 0);
	if (IS_ERR(tfm))
		return PTR_ERR(tfm);
	if (WARN_ON_ONCE(crypto_shash_digestsize(tfm) != DSPM_WIRE_MAC_SIZE)) {
		ret = -EINVAL;
		goto out;
	}
	ret = crypto_shash_setkey(tfm, key, key_len);
	if (ret)
		goto out;
	{
		SHASH_DESC_ON_STACK(desc, tfm);

		desc->tfm = tfm;
		ret = crypto_shash_init(desc);
		for (i = 0; !ret && i < nr; i++)
			ret = crypto_shash_update(desc, parts[i].data,
						  parts[i].len);
		if (!ret)
			ret = crypto_shash_final(desc, mac);
		shash_desc_zero(desc);
	}
out:
	crypto_free_shash(tfm);
	return ret;
}

bool dspm_auth_mac_equal(const u8 *a, const u8 *b)
{
	return !crypto_memneq(a, b, DSPM_WIRE_MAC_SIZE);
}
