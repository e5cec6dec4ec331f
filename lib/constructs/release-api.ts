import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { HttpApi, HttpMethod, HttpNoneAuthorizer, LogGroupLogDestination, type IHttpRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { SwitchyardConfig } from '../../src/config/config.js';
import { keepLogicalId } from './stable-ids.js';
import { SwitchyardFunction, type FunctionSettings } from './switchyard-function.js';

export interface ReleaseApiProps extends FunctionSettings {
  /** How callers authenticate: IAM (SigV4) or a JWT issuer and audience. */
  readonly auth: SwitchyardConfig['api'];
  /** The release state machine: the API starts releases and completes approvals. */
  readonly stateMachineArn: string;
  /** Add `POST /slack/interactions`, authenticated by Slack's signature instead. @default false */
  readonly slackRoute?: boolean;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** The routes of the HTTP API (src/api/app.ts serves them; GET /openapi.json describes them). */
const ROUTES = [
  ['/healthz', [HttpMethod.GET]],
  ['/openapi.json', [HttpMethod.GET]],
  ['/services', [HttpMethod.GET]],
  ['/releases', [HttpMethod.GET, HttpMethod.POST]],
  ['/releases/{id}', [HttpMethod.GET]],
  ['/releases/{id}/{action}', [HttpMethod.GET, HttpMethod.POST]],
  ['/whoami', [HttpMethod.GET]],
] as const;

/**
 * The HTTP API: API Gateway HTTP API with an IAM or JWT authorizer on every route, access logs,
 * and the Lambda that serves the one Hono app. Slack's route alone is open: it carries Slack's
 * HMAC signature, which the function verifies before anything else.
 */
export class ReleaseApi extends Construct {
  readonly api: HttpApi;
  readonly function: SwitchyardFunction;

  constructor(scope: Construct, id: string, props: ReleaseApiProps) {
    super(scope, id);
    const { auth, removalPolicy = RemovalPolicy.RETAIN } = props;
    this.function = new SwitchyardFunction(this, 'Function', { ...props, entry: 'api.ts', description: 'Switchyard HTTP API' });
    keepLogicalId(this.function.logGroup, 'ApiLogsCD139AD4');
    this.function.grantWorkflow(props.stateMachineArn, { callbacks: true });

    const authorizer: IHttpRouteAuthorizer =
      auth.auth === 'jwt' && auth.jwt ? new HttpJwtAuthorizer('Jwt', auth.jwt.issuer, { jwtAudience: [...auth.jwt.audience] }) : new HttpIamAuthorizer();
    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: RetentionDays.ONE_MONTH, removalPolicy });
    keepLogicalId(accessLogs, 'ApiAccessLogsE9DF007D');
    // `Default`: the API keeps the logical id (and so its URL) it had as a direct child of the stack.
    this.api = new HttpApi(this, 'Default', { description: 'Switchyard API', defaultAuthorizer: authorizer, createDefaultStage: false });
    this.api.addStage('DefaultStage', { stageName: '$default', autoDeploy: true, accessLogSettings: { destination: new LogGroupLogDestination(accessLogs) } });
    const integration = new HttpLambdaIntegration('ApiIntegration', this.function.fn);
    for (const [path, methods] of ROUTES) this.api.addRoutes({ path, methods: [...methods], integration });
    if (props.slackRoute) {
      const [route] = this.api.addRoutes({ path: '/slack/interactions', methods: [HttpMethod.POST], integration, authorizer: new HttpNoneAuthorizer() });
      if (route)
        Validations.of(route).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            'Slack cannot sign requests for IAM or JWT; the function verifies Slack’s HMAC signature over the raw body (5-minute window) before anything else.',
        });
    }
  }
}
