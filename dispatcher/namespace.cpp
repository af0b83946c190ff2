// SPDX-License-Identifier: MIT
#include "namespace.hpp"

#include <linux/dspm.h>

#include <bit>
#include <cerrno>
#include <system_error>

#include "dspm_common/name.hpp"

namespace dspm::dispatcher {

namespace {

[[noreturn]] void fail(int code, const std::string& msg) {
  throw std::system_error(code, std::generic_category(), "namespace: " + msg);
}

}  // namespace

Namespace::Namespace(State& state, std::uint64_t chunk_size)
    : state_(state), chunk_size_(chunk_size) {
  if (!std::has_single_bit(chunk_size) || chunk_size < DSPM_WIRE_CHUNK_SIZE_MIN ||
      chunk_size > DSPM_WIRE_CHUNK_SIZE_MAX) {
    fail(EINVAL, "invalid default chunk size");
  }
}

std::uint64_t Namespace::chunk_size_for(std::uint64_t length, std::uint64_t requested) const {
  if (requested != 0) return requested;
  std::uint64_t cs = chunk_size_;
  while (chunk_count(length, cs) > DSPM_WIRE_CHUNKS_MAX) cs *= 2;
  return cs;
}

DatasetReply Namespace::create(const DatasetCreate& req, std::span<const NodeCapacity> nodes) {
  if (!common::valid_name(req.name)) fail(EINVAL, "invalid dataset name");
  if (req.length == 0 || req.length > DSPM_DATASET_LENGTH_MAX) fail(EINVAL, "invalid length");
  if (req.mode > 0777 || req.model > DSPM_MODEL_MRSW || req.replicas == 0 ||
      req.replicas > DSPM_WIRE_REPLICAS_MAX) {
    fail(EINVAL, "invalid mode, model or replicas");
  }
  std::uint64_t cs = chunk_size_for(req.length, req.chunk_size);
  if (!std::has_single_bit(cs) || cs < DSPM_WIRE_CHUNK_SIZE_MIN || cs > DSPM_WIRE_CHUNK_SIZE_MAX ||
      chunk_count(req.length, cs) > DSPM_WIRE_CHUNKS_MAX) {
    fail(EINVAL, "invalid chunk size");
  }
  if (state_.find_dataset(req.name)) fail(EEXIST, "dataset " + req.name + " exists");
  auto chunks = place(nodes, req.length, cs, req.replicas);
  DatasetDesc desc;
  desc.name = req.name;
  desc.length = req.length;
  desc.mode = req.mode;
  desc.uid = req.uid;
  desc.gid = req.gid;
  desc.model = req.model;
  desc.replicas = req.replicas;
  desc.chunk_size = cs;
  desc.chunks = static_cast<std::uint32_t>(chunks.size());
  DatasetReply out;
  out.dataset = state_.create_dataset(desc, chunks);
  out.chunks = std::move(chunks);
  return out;
}

DeleteReply Namespace::remove(std::string_view name) {
  if (!common::valid_name(name)) fail(EINVAL, "invalid dataset name");
  auto gone = state_.delete_dataset(name);
  if (!gone) fail(ENOENT, "no dataset " + std::string(name));
  return DeleteReply{gone->name, gone->id};
}

DatasetReply Namespace::lookup(std::string_view name) const {
  if (!common::valid_name(name)) fail(EINVAL, "invalid dataset name");
  auto found = state_.find_dataset(name);
  if (!found) fail(ENOENT, "no dataset " + std::string(name));
  return std::move(*found);
}

ListReply Namespace::list(std::uint64_t cursor, std::uint32_t max) const {
  if (max == 0 || max > DSPM_WIRE_LIST_MAX) fail(EINVAL, "invalid list size");
  ListReply out;
  out.datasets = state_.list_datasets(cursor, max + 1);
  if (out.datasets.size() > max) {
    out.datasets.pop_back();
    out.more = true;
  }
  out.next_cursor = out.datasets.empty() ? cursor : out.datasets.back().id;
  return out;
}

Message Namespace::handle(const Message& request, std::span<const NodeCapacity> nodes) {
  Message reply;
  reply.sender = DSPM_WIRE_NODE_DISPATCHER;
  reply.request_id = request.request_id;
  try {
    if (const auto* m = std::get_if<DatasetCreate>(&request.body)) {
      reply.body = create(*m, nodes);
    } else if (const auto* m = std::get_if<DatasetDelete>(&request.body)) {
      reply.body = remove(m->name);
    } else if (const auto* m = std::get_if<DatasetLookup>(&request.body)) {
      reply.body = lookup(m->name);
    } else if (const auto* m = std::get_if<DatasetList>(&request.body)) {
      reply.body = list(m->cursor, m->max);
    } else {
      reply.body = ErrorReply{EPROTO, type_of(request.body)};
    }
  } catch (const std::system_error& e) {
    int code = e.code().value();
    if (code <= 0 || code > DSPM_WIRE_ERRNO_MAX) code = EIO;
    reply.body = ErrorReply{code, type_of(request.body)};
  }
  return reply;
}

}  // namespace dspm::dispatcher
