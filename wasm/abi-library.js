// JS library (--js-library) of the module: C's abort() (out of memory, a
// failed check) throws a WebAssembly.RuntimeError, as the full Emscripten
// runtime does; MINIMAL_RUNTIME's own abort() throws an empty string.
mergeInto(LibraryManager.library, {
  abort: function () {
    throw new WebAssembly.RuntimeError('Aborted()');
  },
});
