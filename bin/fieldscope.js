#!/usr/bin/env node
// The `fieldscope` command (npx fieldscope …, or npm run fieldscope -- …): runs the TypeScript CLI through tsx.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
