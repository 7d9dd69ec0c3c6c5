// Appended inside the module's factory (--post-js, MINIMAL_RUNTIME): the
// module's promise resolves with what web/engine-abi.js uses, the memory and
// the exported functions of wasm/engine_bindings.cc, by their C names.
Module['ready'] = Module['ready'].then(function () {
  return {
    'memory': wasmMemory, 'malloc': _malloc, 'free': _free,
    'rk_result_size': _rk_result_size, 'rk_engine_new': _rk_engine_new, 'rk_engine_free': _rk_engine_free,
    'rk_ingest': _rk_ingest, 'rk_load_artifact': _rk_load_artifact, 'rk_set_attributes': _rk_set_attributes,
    'rk_identify': _rk_identify, 'rk_set_consent': _rk_set_consent, 'rk_advance': _rk_advance,
    'rk_next_deadline': _rk_next_deadline, 'rk_segments': _rk_segments, 'rk_state': _rk_state, 'rk_decide': _rk_decide,
    'rk_pending': _rk_pending, 'rk_ack': _rk_ack, 'rk_outbox_size': _rk_outbox_size,
    'rk_outbox_dropped': _rk_outbox_dropped,
    'rk_accepted': _rk_accepted, 'rk_duplicates': _rk_duplicates, 'rk_snapshot': _rk_snapshot,
    'rk_restore': _rk_restore, 'rk_version': _rk_version,
    'rk_condition': _rk_condition, 'rk_test': _rk_test, 'rk_condition_free': _rk_condition_free,
  };
});
