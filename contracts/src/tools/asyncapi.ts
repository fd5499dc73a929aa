import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildAsyncApiDocument } from '../asyncapi';
import { parseToolArgs } from './command-line';

// No options, but a misspelt one is still an error rather than silently ignored.
parseToolArgs('usage: npm run asyncapi\n\nRegenerates contracts/asyncapi.json from the contracts. It takes no options.', {});

/** `npm run asyncapi`: regenerates contracts/asyncapi.json from the contracts. */
const target = join(__dirname, '..', '..', 'asyncapi.json');
writeFileSync(target, `${JSON.stringify(buildAsyncApiDocument(), null, 2)}\n`);
console.log(`wrote ${target}`);
