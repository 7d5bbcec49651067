#!/usr/bin/env node
// Thin launcher so `hotaisle` works from npm's bin without a build step: tsx runs the TypeScript CLI.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
