import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** esbuild options of every Switchyard bundle (also used by `npm run bench:bundles`). */
export const BUNDLING = {
  format: 'esm',
  minify: true,
  sourceMap: true,
  target: 'node22',
  mainFields: ['module', 'main'],
  // ESM bundles still meet CommonJS dependencies that call require().
  banner: "import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);",
  // The Lambda Node.js runtime ships AWS SDK v3; bundling it again would only add weight.
  externalModules: ['@aws-sdk/*'],
} as const;

/** The config compiled into a bundle, as esbuild `define` wants it. */
export function defineConfig(config: unknown): Record<string, string> {
  return { __SWITCHYARD_CONFIG__: JSON.stringify(JSON.stringify(config)) };
}

export interface SwitchyardFunctionProps {
  /** Entry file under lambdas/, for example `workflow.ts`. */
  readonly entry: string;
  readonly description: string;
  readonly environment?: Readonly<Record<string, string>>;
  /** The raw config, compiled into the bundle (esbuild `define`). */
  readonly config: unknown;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/**
 * Every Switchyard Lambda with one set of house defaults: the latest Node.js runtime, ARM64,
 * bundled by the local esbuild as minified ESM with source maps, an explicit log group with
 * retention, X-Ray tracing, and the config compiled in.
 */
export class SwitchyardFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: SwitchyardFunctionProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.fn = new NodejsFunction(this, 'Function', {
      entry: join(ROOT, 'lambdas', props.entry),
      handler: 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(30),
      tracing: Tracing.ACTIVE,
      logGroup: this.logGroup,
      projectRoot: ROOT,
      depsLockFilePath: join(ROOT, 'package-lock.json'),
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
      bundling: {
        ...BUNDLING,
        format: OutputFormat.ESM,
        mainFields: [...BUNDLING.mainFields],
        externalModules: [...BUNDLING.externalModules],
        define: defineConfig(props.config),
        forceDockerBundling: false,
      },
    });
  }
}
