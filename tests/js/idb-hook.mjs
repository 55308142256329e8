// Module resolution hook (see setup.mjs): "idb" resolves to fake-idb.mjs.
export async function resolve(specifier, context, nextResolve) {
  if (specifier === "idb") return { url: new URL("./fake-idb.mjs", import.meta.url).href, shortCircuit: true };
  return nextResolve(specifier, context);
}
