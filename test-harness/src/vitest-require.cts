// What `require('@switchboard/conformance/vitest')` loads. The suite is an ES module, as vitest
// is (vitest cannot be loaded with require()); the `require` condition exists so that TypeScript
// finds the suite's types from a test file that compiles to CommonJS. vitest itself runs every
// test file as an ES module, in CommonJS packages too, and so imports the ES module build.
throw new Error(
  '@switchboard/conformance/vitest is an ES module, as vitest is: import it from a test file that vitest runs; require() cannot load it',
);
