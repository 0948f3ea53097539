// `node --import ./tests/js/register.mjs script.mjs` installs the resolve hook before the script loads.
import { register } from 'node:module';

register('./resolve-hook.mjs', import.meta.url);
