#include "capi_internal.hpp"

using namespace evcs::capi;

namespace {

const evcs::TypedColumn &stored_as(const evcs_batch *batch, int64_t column,
                                   evcs::ColumnStorage storage, const char *form) {
  const evcs::TypedColumn &found = deref(batch, "batch").batch.column(column);
  if (found.storage != storage)
    throw evcs::InvalidArgument("column '" + found.name + "' does not hold its values as " +
                                form + ": see evcs_batch_column_type");
  return found;
}

} // namespace

extern "C" {

int evcs_result_batches(evcs_batches **out, const evcs_result *result, int64_t rows_per_batch) {
  return guarded([&] {
    deref(out, "out") = nullptr;
    *out = new evcs_batches(evcs::ColumnBatches(deref(result, "result").result, rows_per_batch));
  });
}

int evcs_batches_next(const evcs_batch **out, evcs_batches *batches) {
  return guarded([&] {
    deref(out, "out") = nullptr;
    evcs_batches &iterator = deref(batches, "batches");
    if (!iterator.batches.next(iterator.current.batch)) return EVCS_ITEROVER;
    *out = &iterator.current;
    return EVCS_OK;
  });
}

void evcs_batches_free(evcs_batches *batches) { delete batches; }

int evcs_batch_row_count(int64_t *out, const evcs_batch *batch) {
  return guarded([&] { deref(out, "out") = deref(batch, "batch").batch.rows(); });
}

int evcs_batch_column_count(int64_t *out, const evcs_batch *batch) {
  return guarded([&] {
    deref(out, "out") = static_cast<int64_t>(deref(batch, "batch").batch.columns().size());
  });
}

int evcs_batch_column_name(const char **out, const evcs_batch *batch, int64_t column) {
  return guarded([&] {
    deref(out, "out") = deref(batch, "batch").batch.column(column).name.c_str();
  });
}

int evcs_batch_column_type(int *out, const evcs_batch *batch, int64_t column) {
  return guarded([&] {
    deref(out, "out") = static_cast<int>(deref(batch, "batch").batch.column(column).type);
  });
}

int evcs_batch_column_validity(const uint8_t **out, const evcs_batch *batch, int64_t column) {
  return guarded([&] {
    deref(out, "out") = deref(batch, "batch").batch.column(column).valid.data();
  });
}

int evcs_batch_column_int64s(const int64_t **out, const evcs_batch *batch, int64_t column) {
  return guarded([&] {
    deref(out, "out") =
        stored_as(batch, column, evcs::ColumnStorage::integers, "int64s").integers.data();
  });
}

int evcs_batch_column_doubles(const double **out, const evcs_batch *batch, int64_t column) {
  return guarded([&] {
    deref(out, "out") =
        stored_as(batch, column, evcs::ColumnStorage::reals, "doubles").reals.data();
  });
}

int evcs_batch_column_bytes(const int64_t **out_offsets, const char **out_data,
                            const evcs_batch *batch, int64_t column) {
  return guarded([&] {
    deref(out_offsets, "out_offsets");
    deref(out_data, "out_data");
    const evcs::TypedColumn &found =
        stored_as(batch, column, evcs::ColumnStorage::variable, "bytes");
    *out_offsets = found.offsets.data();
    *out_data = found.bytes.data();
  });
}

} // extern "C"
