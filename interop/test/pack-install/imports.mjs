// Imports each module named on the command line (a JSON array) as an ES module, as an
// application does, and prints `RESULT <json>`: its export names, or why it did not load.
const specifiers = JSON.parse(process.argv[2] ?? '[]');
const result = {};
for (const specifier of specifiers) {
  try {
    const module = await import(specifier);
    result[specifier] = { names: Object.keys(module).sort() };
  } catch (error) {
    result[specifier] = { error: `${error.code ?? error.name}: ${error.message}` };
  }
}
console.log(`RESULT ${JSON.stringify(result)}`);
