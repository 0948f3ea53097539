// Resolve hook for @inferencesh/sdk 0.6.54: its ESM build imports relative modules without a file
// extension ("./types"), which plain Node.js refuses (ERR_MODULE_NOT_FOUND). A failed relative
// specifier is retried with ".js" (then "/index.js"), so the package loads unchanged.
const RETRYABLE = new Set(['ERR_MODULE_NOT_FOUND', 'ERR_UNSUPPORTED_DIR_IMPORT']);

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    const relative = specifier.startsWith('./') || specifier.startsWith('../');
    if (!relative || !RETRYABLE.has(error?.code)) throw error;
    for (const suffix of ['.js', '/index.js']) {
      try {
        return await nextResolve(specifier + suffix, context);
      } catch {
        // try the next suffix
      }
    }
    throw error;
  }
}
