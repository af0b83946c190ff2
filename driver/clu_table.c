// SPDX-License-Identifier: GPL-2.0
/*
 * The node table the dispatcher sends: checked in full, kept for lookups
 * of a node's state and address, and compared with the last one to see
 * nodes that came back.
 */
#include <linux/slab.h>
#include <linux/string.h>

#include "clu.h"
#include "clu_link.h"
#include "internal.h"

/*
 * Node @id's state in the latest node table (DSPM_NODE_*), 0 when the
 * table does not list it, -ENODATA before the first table; its address
 * into *@addr (if not NULL) when listed.
 */
int dspm_link_node_state(struct dspm_link *link, u32 id,
			 struct dspm_addr *addr)
{
	int state = 0;
	u32 i;

	mutex_lock(&link->table_lock);
	if (!link->nr_nodes)
		state = -ENODATA;
	for (i = 0; i < link->nr_nodes; i++) {
		if (link->table[i].id != id)
			continue;
		state = link->table[i].state;
		if (addr)
			*addr = link->table[i].addr;
		break;
	}
	mutex_unlock(&link->table_lock);
	return state;
}

/*
 * Node @now, listed alive, was dead or unknown in @old, or restarted since:
 * its incarnation changed.  A restart faster than the dispatcher's dead
 * timeout is seen only that way.  An incarnation of 0 is unknown (a
 * dispatcher that restored an older state file) and compares equal.
 */
static bool dspm_link_node_returned(const struct dspm_node_info *old,
				    u32 nr_old, const struct dspm_node_info *now)
{
	u32 i;

	if (!nr_old)
		return false;
	for (i = 0; i < nr_old; i++)
		if (old[i].id == now->id)
			return old[i].state == DSPM_NODE_DEAD ||
			       (old[i].incarnation && now->incarnation &&
				old[i].incarnation != now->incarnation);
	return true;
}

int dspm_link_node_table(struct dspm_link *link)
{
	const struct dspm_wire_node_table *t = link->rxbuf;
	u32 count = le32_to_cpu(t->count), i, prev = 0, old_nr;
	struct dspm_node_info *table, *old;

	if (count > DSPM_WIRE_NODES_MAX || t->reserved ||
	    !dspm_link_from_dispatcher(link, sizeof(*t) +
				       count * sizeof(t->nodes[0])))
		goto bad;
	table = kvcalloc(max(count, 1U), sizeof(*table), GFP_KERNEL);
	if (!table)
		return -ENOMEM;
	for (i = 0; i < count; i++) {
		const struct dspm_wire_node *n = &t->nodes[i];
		u32 id = le32_to_cpu(n->id), state = le32_to_cpu(n->state);

		if (id <= prev || id == DSPM_WIRE_NODE_DISPATCHER ||
		    state < DSPM_WIRE_NODE_ALIVE || state > DSPM_WIRE_NODE_DEAD) {
			kvfree(table);
			goto bad;
		}
		prev = id;
		table[i].size = sizeof(table[i]);
		table[i].id = id;
		table[i].state = state;
		memcpy(table[i].uuid, n->uuid, sizeof(table[i].uuid));
		dspm_wire_addr_to_uapi(&n->addr, &table[i].addr);
		table[i].capacity = le64_to_cpu(n->capacity);
		table[i].free = le64_to_cpu(n->free);
		table[i].incarnation = le64_to_cpu(n->incarnation);
	}
	mutex_lock(&link->table_lock);
	old = link->table;
	old_nr = link->nr_nodes;
	link->table = table;
	link->nr_nodes = count;
	link->epoch = le64_to_cpu(t->epoch);
	mutex_unlock(&link->table_lock);
	/*
	 * A node back from the dead or with a new incarnation restarted and
	 * forgot whom it served as a home (nobody would invalidate the copies
	 * cached here from it), and our connections to it are to its previous
	 * boot.  Only this thread replaces the table, so it may read it here.
	 */
	for (i = 0; i < count && link->events; i++)
		if (table[i].state == DSPM_NODE_ALIVE &&
		    table[i].id != READ_ONCE(link->node_id) &&
		    dspm_link_node_returned(old, old_nr, &table[i]))
			link->events->node_returned(link, table[i].id);
	kvfree(old);
	return 0;
bad:
	atomic64_inc(&link->malformed);
	return -EPROTO;
}
