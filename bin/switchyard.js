#!/usr/bin/env node
// npx switchyard …: registers tsx so the CLI and TypeScript config files load, then runs it.
import { register } from 'tsx/esm/api';

register();
await import('./switchyard.ts');
