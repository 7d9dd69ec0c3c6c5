// Prepended inside the module's factory (--pre-js, MINIMAL_RUNTIME). The
// minimal runtime starts with WebAssembly.instantiate(Module.wasm, imports)
// .then(start) and catches nothing: a failure there (a rekindle.wasm from
// another build) would leave the module's promise pending and its rejection
// unhandled (fatal in Node). This WebAssembly, seen only by the factory's
// code, runs the same steps and rejects the module's promise instead.
var WebAssembly = Object.create(globalThis.WebAssembly, {
  instantiate: {
    value: function (wasm, imports) {
      return {
        then: function (start) {
          globalThis.WebAssembly.instantiate(wasm, imports).then(start).catch(readyPromiseReject);
        },
      };
    },
  },
});
