// SPDX-License-Identifier: GPL-2.0
/*
 * One-sided access: regions exposed to the peer as fast-registration MRs
 * of one connection, and RDMA READs of what the peer exposed.
 */
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/jiffies.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/sched/signal.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <net/net_namespace.h>
#include <rdma/ib_cm.h>
#include <rdma/ib_verbs.h>
#include <rdma/rdma_cm.h>

#include "xprt_rdma.h"

static bool dspm_rdma_ops_done(struct dspm_rdma_conn *conn)
{
	return !READ_ONCE(conn->rd_pending) || READ_ONCE(conn->err);
}

/*
 * Wait for the posted READs or REG_MR.  After a failure or the timeout
 * the connection is failed: work requests may still be in flight, and
 * only close() (which drains the QP) may reuse what they point at.
 */
static int dspm_rdma_ops_wait(struct dspm_rdma_conn *conn)
{
	long left = dspm_rdma_timeo(conn->send_timeout_ms);

	if (!wait_event_timeout(conn->wq, dspm_rdma_ops_done(conn), left))
		dspm_rdma_fail_wc(conn, -ETIMEDOUT);
	return READ_ONCE(conn->err);
}

/*
 * Post work requests chained from @wr, @nr of them signalled and counted
 * in rd_pending; on a failed post the connection fails (whatever was
 * posted is flushed).
 */
static int dspm_rdma_post_ops(struct dspm_rdma_conn *conn, struct ib_send_wr *wr,
			      unsigned int nr)
{
	unsigned long flags;
	int ret;

	ret = dspm_rdma_stream_err(conn);
	if (ret)
		return ret;
	spin_lock_irqsave(&conn->lock, flags);
	conn->rd_pending += nr;
	spin_unlock_irqrestore(&conn->lock, flags);
	ret = ib_post_send(conn->cm_id->qp, wr, NULL);
	if (ret) {
		/* a failed post_send posted nothing from the bad one on */
		dspm_rdma_fail_wc(conn, -ECONNRESET);
		return ret;
	}
	return dspm_rdma_ops_wait(conn);
}

int dspm_rdma_read(struct dspm_conn *c,
		   const struct dspm_read_seg *seg, unsigned int nr,
		   void *buf)
{
	struct dspm_rdma_conn *conn = dspm_rdma_conn_of(c);
	struct ib_rdma_wr wr[DSPM_RDMA_READ_SEGS] = {};
	struct ib_sge sge[DSPM_RDMA_READ_SEGS];
	struct ib_device *dev = conn->cm_id->device;
	u32 total = 0, i;
	int ret;

	if (!nr || nr > DSPM_RDMA_READ_SEGS)
		return -EINVAL;
	for (i = 0; i < nr; i++) {
		if (!seg[i].len || seg[i].len > DSPM_TRANSPORT_READ_MAX - total)
			return -EINVAL;
		sge[i].addr = conn->rd_dma + total;
		sge[i].length = seg[i].len;
		sge[i].lkey = conn->pd->local_dma_lkey;
		wr[i].wr.wr_cqe = &conn->rd_op[i].cqe;
		wr[i].wr.sg_list = &sge[i];
		wr[i].wr.num_sge = 1;
		wr[i].wr.opcode = IB_WR_RDMA_READ;
		/*
		 * Only the last completes: an RC send queue completes in order,
		 * so it completing means all did, and one wakeup is cheaper
		 * than several.  A failed READ completes anyway (with an
		 * error) and fails the connection.
		 */
		conn->rd_op[i].signaled = i + 1 == nr;
		wr[i].wr.send_flags = i + 1 == nr ? IB_SEND_SIGNALED : 0;
		wr[i].wr.next = i + 1 < nr ? &wr[i + 1].wr : NULL;
		wr[i].remote_addr = seg[i].addr;
		wr[i].rkey = seg[i].rkey;
		total += seg[i].len;
	}
	ib_dma_sync_single_for_device(dev, conn->rd_dma, total,
				      DMA_FROM_DEVICE);
	ret = dspm_rdma_post_ops(conn, &wr[0].wr, 1);
	if (ret)
		return ret;
	ib_dma_sync_single_for_cpu(dev, conn->rd_dma, total, DMA_FROM_DEVICE);
	memcpy(buf, conn->rd_buf, total);
	return 0;
}

/*
 * The smallest page size the device takes (at least PAGE_SIZE) that covers
 * @len bytes from DMA address @dma in at most @max pages, and how many
 * pages that is (*@pages); 0 if there is none.
 */
static u64 dspm_rdma_reg_page_size(struct ib_device *dev, u64 dma, u64 len,
				   u32 max, u32 *pages)
{
	unsigned int shift;

	for (shift = PAGE_SHIFT; shift < 32; shift++) {
		u64 ps = 1ULL << shift, n;

		if (!(dev->attrs.page_size_cap & ps))
			continue;
		n = (ALIGN(dma + len, ps) - ALIGN_DOWN(dma, ps)) >> shift;
		if (n <= max) {
			*pages = n;
			return ps;
		}
	}
	return 0;
}

/* Register @r for remote reads on @conn's PD and QP into @e. */
static int dspm_rdma_expose_one(struct dspm_rdma_conn *conn,
				const struct dspm_region *r,
				struct dspm_rdma_exposed *e,
				struct dspm_region_key *key)
{
	struct ib_device *dev = conn->cm_id->device;
	u32 max = min(dev->attrs.max_fast_reg_page_list_len,
		      DSPM_RDMA_REG_PAGES);
	struct ib_reg_wr wr = {};
	struct scatterlist *sg;
	unsigned int nents, i;
	u64 left, ps;
	u32 pages;
	void *p;
	int ret;

	if (!r->len || !virt_addr_valid(r->addr) ||
	    !virt_addr_valid(r->addr + r->len - 1))
		return -EOPNOTSUPP;
	nents = DIV_ROUND_UP_ULL(r->len + offset_in_page(r->addr),
				 DSPM_RDMA_REG_CHUNK);
	ret = sg_alloc_table(&e->sgt, nents, GFP_KERNEL);
	if (ret)
		return ret;
	p = r->addr;
	left = r->len;
	for_each_sg(e->sgt.sgl, sg, nents, i) {
		u32 n = min_t(u64, left, DSPM_RDMA_REG_CHUNK -
			      offset_in_page(p));

		sg_set_page(sg, virt_to_page(p), n, offset_in_page(p));
		p += n;
		left -= n;
	}
	e->dma_nents = ib_dma_map_sg(dev, e->sgt.sgl, nents, DMA_TO_DEVICE);
	if (e->dma_nents <= 0) {
		e->dma_nents = 0;
		return -ENOMEM;
	}
	ps = dspm_rdma_reg_page_size(dev, sg_dma_address(e->sgt.sgl), r->len,
				     max, &pages);
	if (!ps)
		return -EOPNOTSUPP;
	e->mr = ib_alloc_mr(conn->pd, IB_MR_TYPE_MEM_REG, pages);
	if (IS_ERR(e->mr)) {
		ret = PTR_ERR(e->mr);
		e->mr = NULL;
		return ret;
	}
	/* fewer entries mapped: the DMA addresses are not contiguous */
	ret = ib_map_mr_sg(e->mr, e->sgt.sgl, e->dma_nents, NULL, ps);
	if (ret != e->dma_nents)
		return ret < 0 ? ret : -EOPNOTSUPP;
	if (e->mr->length != r->len)
		return -EOPNOTSUPP;
	/*
	 * The peer addresses the region from (almost) 0: the iova keeps only
	 * the offset into the first page, which is all the MR's page list
	 * needs, so no kernel address goes on the wire.
	 */
	e->mr->iova &= ps - 1;
	wr.wr.wr_cqe = &conn->reg_op.cqe;
	wr.wr.opcode = IB_WR_REG_MR;
	wr.wr.send_flags = IB_SEND_SIGNALED;
	wr.mr = e->mr;
	wr.key = e->mr->rkey;
	wr.access = IB_ACCESS_REMOTE_READ;
	ret = dspm_rdma_post_ops(conn, &wr.wr, 1);
	if (ret)
		return ret;
	e->region = *r;
	key->addr = e->mr->iova;
	key->rkey = e->mr->rkey;
	return 0;
}

int dspm_rdma_expose(struct dspm_conn *c,
		     const struct dspm_region *r, unsigned int nr,
		     struct dspm_region_key *keys)
{
	struct dspm_rdma_conn *conn = dspm_rdma_conn_of(c);
	struct ib_device *dev = conn->cm_id->device;
	unsigned int i;
	int ret = 0;

	if (!nr || nr > DSPM_TRANSPORT_REGIONS)
		return -EINVAL;
	if (conn->nr_exposed) {
		if (conn->nr_exposed != nr)
			return -EBUSY;
		for (i = 0; i < nr; i++)
			if (conn->exposed[i].region.addr != r[i].addr ||
			    conn->exposed[i].region.len != r[i].len)
				return -EBUSY;
		memcpy(keys, conn->keys, nr * sizeof(*keys));
		return 0;
	}
	if (!(dev->attrs.device_cap_flags & IB_DEVICE_MEM_MGT_EXTENSIONS))
		return -EOPNOTSUPP;
	for (i = 0; i < nr && !ret; i++)
		ret = dspm_rdma_expose_one(conn, &r[i], &conn->exposed[i],
					   &conn->keys[i]);
	if (ret) {
		/* a REG_MR may still be in flight on a failed QP: close() frees */
		if (!READ_ONCE(conn->err))
			for (i = 0; i < nr; i++)
				dspm_rdma_unexpose(dev, &conn->exposed[i]);
		return ret;
	}
	conn->nr_exposed = nr;
	memcpy(keys, conn->keys, nr * sizeof(*keys));
	return 0;
}
