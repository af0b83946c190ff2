/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The link to the dispatcher, inside clu_link.c and clu_table.c.
 */
#ifndef _DSPM_CLU_LINK_H
#define _DSPM_CLU_LINK_H

#include <linux/types.h>

#include "clu.h"

#define DSPM_LINK_TIMEOUT_MS	5000

/* a call waits this long for a reply, and before that for a link */
#define DSPM_CALL_TIMEOUT_MS	5000

#define DSPM_BACKOFF_MIN_MS	500

#define DSPM_BACKOFF_MAX_MS	10000

void dspm_wire_build_checks(void);
bool dspm_link_from_dispatcher(struct dspm_link *link, u32 len);
int dspm_link_node_table(struct dspm_link *link);

#endif /* _DSPM_CLU_LINK_H */
