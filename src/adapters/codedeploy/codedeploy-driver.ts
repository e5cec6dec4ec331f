import type { CodeDeployClient, DeploymentInfo } from '@aws-sdk/client-codedeploy';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { Change } from '../../core/task-diff.js';
import { nextRevision, registerRevision, revisionChanges, runningRevision } from '../aws/task-definition.js';
import { CODEDEPLOY_CAPABILITIES } from '../../core/capabilities.js';
import type { Plan } from '../../core/plan.js';
import type { PreflightCheck } from '../../core/preflight.js';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { ECRClient } from '@aws-sdk/client-ecr';
import { codedeployPreflight } from './preflight.js';
import { appSpecFor, deploymentConfigFor } from '../../resources/codedeploy.js';
import { pinnedImage } from '../../core/artifact.js';
import { resolveLazy, type Lazy } from '../aws/lazy.js';
import type { Release } from '../../core/release.js';
import type { CodeDeployTarget } from '../../config/schema.js';
import { done, notYet, type Progress, type TrafficDriver } from '../../ports/traffic-driver.js';
import { awsCall, translateAwsError } from '../aws/errors.js';
import type { Log } from '../../ports/log.js';
import { AlreadyFinalizedError, DeployError, TargetFailedError } from '../../core/errors.js';

/** Readable outcomes for CodeDeploy's error codes. */
export const CODEDEPLOY_REASONS: Readonly<Record<string, string>> = {
  ALARM_ACTIVE: 'CodeDeploy stopped the deployment because one of its alarms is active',
  MANUAL_STOP: 'the deployment was stopped outside Switchyard (console, CLI or API)',
  TIMEOUT: 'the deployment timed out in CodeDeploy',
  ECS_UPDATE_ERROR: 'ECS could not update the service (task set or capacity problem)',
  HOOK_EXECUTION_FAILURE: 'a lifecycle hook of the deployment failed',
  THROTTLED: 'CodeDeploy was throttled',
  DEPLOYMENT_GROUP_MISSING: 'the deployment group no longer exists',
  HEALTH_CONSTRAINTS: 'the new tasks failed their health checks',
};

/** The SDK modules are imported on first use: the workflow function's cold start skips them. */
const codedeploySdk = () => import('@aws-sdk/client-codedeploy');

export interface CodeDeployDriverOptions {
  readonly service: string;
  readonly target: CodeDeployTarget;
  readonly plan: Plan;
  readonly ecs: Lazy<ECSClient>;
  readonly codedeploy: Lazy<CodeDeployClient>;
  /** For the pre-flight checks: the gates' alarms and the current image in ECR. @default no pre-flight checks */
  readonly preflight?: { readonly cloudwatch: Lazy<CloudWatchClient>; readonly ecr: Lazy<ECRClient>; readonly alarms: readonly string[] };
  readonly log?: Log;
}

function description(release: Release): string {
  return `Switchyard release ${release.id} of ${release.artifact.image}`;
}

/**
 * ECS blue/green through CodeDeploy. Switchyard registers the new task definition, creates the
 * deployment, holds it in its ready wait for the pre-traffic approval, lets CodeDeploy shift with a
 * canary or linear config that matches the plan, watches the gates the whole time, and stops the
 * deployment with rollback on failure.
 */
export class CodeDeployDriver implements TrafficDriver {
  readonly capabilities = CODEDEPLOY_CAPABILITIES;
  constructor(private readonly options: CodeDeployDriverOptions) {}

  private cd(): Promise<CodeDeployClient> {
    return resolveLazy(this.options.codedeploy);
  }

  private ecs(): Promise<ECSClient> {
    return resolveLazy(this.options.ecs);
  }

  private get group(): string {
    return `${this.options.target.application}/${this.options.target.deploymentGroup}`;
  }

  /**
   * Registers the release's task definition: the running one with the image replaced and pinned, or
   * the service's template or overrides (../aws/task-definition.ts). Returns both revisions' ARNs.
   */
  async registerTaskDefinition(release: Release): Promise<{ taskDefinition: string; previousTaskDefinition: string }> {
    const ecs = await this.ecs();
    const { cluster, service, containerName, taskDefinition: source } = this.options.target;
    const running = await runningRevision(ecs, cluster, service);
    const taskDefinition = await registerRevision(ecs, nextRevision(running.definition, running.tags, containerName, pinnedImage(release), source));
    return { taskDefinition, previousTaskDefinition: running.arn };
  }

  async changes(release: Release): Promise<readonly Change[]> {
    const before = release.driverState?.['previousTaskDefinition'];
    const after = release.driverState?.['taskDefinition'];
    return before && after ? revisionChanges(await this.ecs(), before, after) : [];
  }

  /** Creates the traffic config the plan needs, or reuses it when it exists. */
  async ensureDeploymentConfig(): Promise<string> {
    const { name, create } = deploymentConfigFor(this.options.plan);
    if (!create) return name;
    const { CreateDeploymentConfigCommand } = await codedeploySdk();
    try {
      await (await this.cd()).send(new CreateDeploymentConfigCommand(create));
      this.options.log?.info('created deployment config', { deploymentConfig: name });
    } catch (error) {
      if (error instanceof Error && error.name === 'DeploymentConfigAlreadyExistsException') return name;
      throw translateAwsError(error, 'codedeploy:CreateDeploymentConfig', name);
    }
    return name;
  }

  /** A deployment this release already created (the Lambda may have been retried after creating it). */
  private async existingDeployment(release: Release): Promise<string | undefined> {
    const { application, deploymentGroup } = this.options.target;
    const { ListDeploymentsCommand } = await codedeploySdk();
    const codedeploy = await this.cd();
    const listed = await awsCall('codedeploy:ListDeployments', this.group, () =>
      codedeploy.send(
        new ListDeploymentsCommand({
          applicationName: application,
          deploymentGroupName: deploymentGroup,
          includeOnlyStatuses: ['Created', 'Queued', 'InProgress', 'Baking', 'Ready'],
        }),
      ),
    );
    for (const id of listed.deployments ?? []) {
      const info = await this.info(id);
      if (info.description === description(release)) return id;
    }
    return undefined;
  }

  /**
   * The mutating half of deploy: registers the task definition, creates the traffic config when
   * needed and creates the deployment. With dry-run clients (src/adapters/aws/dry-run.ts) it makes
   * the reads and records these calls, with their exact input, instead of sending them.
   */
  async createDeployment(release: Release): Promise<{ deploymentId: string; taskDefinition: string; previousTaskDefinition: string }> {
    const { application, deploymentGroup, containerName, containerPort } = this.options.target;
    const revisions = await this.registerTaskDefinition(release);
    const taskDefinitionArn = revisions.taskDefinition;
    const deploymentConfigName = await this.ensureDeploymentConfig();
    const appSpec = appSpecFor({ taskDefinitionArn, containerName, containerPort });
    const { CreateDeploymentCommand } = await codedeploySdk();
    const codedeploy = await this.cd();
    const created = await awsCall('codedeploy:CreateDeployment', this.group, () =>
      codedeploy.send(
        new CreateDeploymentCommand({
          applicationName: application,
          deploymentGroupName: deploymentGroup,
          deploymentConfigName,
          description: description(release),
          autoRollbackConfiguration: { enabled: true, events: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_REQUEST'] },
          revision: { revisionType: 'AppSpecContent', appSpecContent: appSpec },
        }),
      ),
    );
    if (!created.deploymentId) throw new DeployError('CreateDeployment returned no deployment id');
    this.options.log?.info('created deployment', { releaseId: release.id, deploymentId: created.deploymentId, deploymentConfigName });
    return { deploymentId: created.deploymentId, ...revisions };
  }

  /**
   * Creates the deployment (its id is stored at once), then reads how far it got: ready once the green
   * task set is installed and, with a ready wait, holds at 0% (test traffic only). Without a ready wait
   * CodeDeploy goes straight on to shifting once green is installed. No call waits for CodeDeploy.
   */
  async deploy(release: Release): Promise<Progress> {
    const stored = release.driverState?.['deploymentId'];
    if (!stored) {
      // A retried deploy finds its deployment again (its creation may not have been stored); the revisions' ARNs are read from it only for the diff.
      const found = await this.existingDeployment(release);
      const state = found ? { ...release.driverState, deploymentId: found } : await this.createDeployment(release);
      return notYet(`CodeDeploy deployment ${state['deploymentId'] ?? ''} created`, state, 1);
    }
    const info = await this.info(stored);
    if (info.status === 'Failed' || info.status === 'Stopped') throw new DeployError(CodeDeployDriver.reason(info));
    const ready =
      info.status === 'Ready' ||
      info.status === 'Succeeded' ||
      ((info.status === 'InProgress' || info.status === 'Baking') && (await this.target(stored)).installed);
    return ready ? done() : notYet(`CodeDeploy deployment ${stored} is ${info.status ?? 'starting'}: installing the new task set`);
  }

  private deploymentId(release: Release): string {
    const id = release.driverState?.['deploymentId'];
    if (!id) throw new Error(`release ${release.id} has no CodeDeploy deployment`);
    return id;
  }

  private async info(deploymentId: string): Promise<DeploymentInfo> {
    const { GetDeploymentCommand } = await codedeploySdk();
    const codedeploy = await this.cd();
    const out = await awsCall('codedeploy:GetDeployment', deploymentId, () => codedeploy.send(new GetDeploymentCommand({ deploymentId })));
    if (!out.deploymentInfo) throw new Error(`deployment ${deploymentId} not found`);
    return out.deploymentInfo;
  }

  /** Why a deployment ended, for people. */
  static reason(info: DeploymentInfo): string {
    const code = info.errorInformation?.code ?? '';
    const readable = CODEDEPLOY_REASONS[code] ?? `CodeDeploy reported ${code || 'no error code'}`;
    return `CodeDeploy deployment ${info.deploymentId} ${info.status}: ${readable}${info.errorInformation?.message ? ` (${info.errorInformation.message})` : ''}`;
  }

  /** The deployment target as CodeDeploy reports it: green's traffic weight, target group, install state. */
  async target(deploymentId: string): Promise<{ greenWeight: number; greenTargetGroup?: string; installed: boolean }> {
    const codedeploy = await this.cd();
    const { ListDeploymentTargetsCommand, BatchGetDeploymentTargetsCommand } = await codedeploySdk();
    const targets = await awsCall('codedeploy:ListDeploymentTargets', deploymentId, () => codedeploy.send(new ListDeploymentTargetsCommand({ deploymentId })));
    const targetIds = targets.targetIds ?? [];
    if (targetIds.length === 0) return { greenWeight: 0, installed: false };
    const got = await awsCall('codedeploy:BatchGetDeploymentTargets', deploymentId, () =>
      codedeploy.send(new BatchGetDeploymentTargetsCommand({ deploymentId, targetIds })),
    );
    const ecsTargets = got.deploymentTargets?.flatMap((t) => (t.ecsTarget ? [t.ecsTarget] : [])) ?? [];
    const sets = ecsTargets.flatMap((t) => t.taskSetsInfo ?? []);
    // The label comes back in mixed case on the wire ("Green", "GREEN").
    const green = sets.find((s) => s.taskSetLabel?.toLowerCase() === 'green');
    const installed = ecsTargets.some((t) => t.lifecycleEvents?.some((e) => e.lifecycleEventName === 'Install' && e.status === 'Succeeded'));
    return { greenWeight: green?.trafficWeight ?? 0, ...(green?.targetGroup?.name ? { greenTargetGroup: green.targetGroup.name } : {}), installed };
  }

  /** The green target group's name, for the ALB metrics of the new version. */
  async greenTargetGroup(release: Release): Promise<string | undefined> {
    const deploymentId = release.driverState?.['deploymentId'];
    return deploymentId ? (await this.target(deploymentId)).greenTargetGroup : undefined;
  }

  /**
   * Asks CodeDeploy for `percent` and returns at once: leaving the ready wait starts its shift, and
   * from then on CodeDeploy moves on its own timer (no API skips a canary or linear interval). The
   * workflow reads the live split with {@link verify} and waits in a Wait state until it gets there.
   */
  /** Read-only checks before anything moves (see ./preflight.ts). */
  async preflight(): Promise<PreflightCheck[]> {
    const extra = this.options.preflight;
    if (!extra) return [];
    return codedeployPreflight({ target: this.options.target, plan: this.options.plan, ecs: this.options.ecs, codedeploy: this.options.codedeploy, ...extra });
  }

  async setWeight(release: Release, percent: number): Promise<void> {
    const deploymentId = this.deploymentId(release);
    const info = await this.info(deploymentId);
    if (info.status === 'Failed' || info.status === 'Stopped') throw new TargetFailedError(CodeDeployDriver.reason(info));
    if (info.status === 'Ready' && percent > 0) {
      // Leave the ready wait: CodeDeploy starts shifting with the plan's canary or linear config.
      const { ContinueDeploymentCommand } = await codedeploySdk();
      const codedeploy = await this.cd();
      await awsCall('codedeploy:ContinueDeployment', deploymentId, () =>
        codedeploy.send(new ContinueDeploymentCommand({ deploymentId, deploymentWaitType: 'READY_WAIT' })),
      );
    }
  }

  async verify(release: Release): Promise<number> {
    const deploymentId = this.deploymentId(release);
    const info = await this.info(deploymentId);
    if (info.status === 'Succeeded') return 100;
    return (await this.target(deploymentId)).greenWeight;
  }

  async rollback(release: Release): Promise<Progress> {
    const deploymentId = release.driverState?.['deploymentId'] ?? (await this.existingDeployment(release));
    if (!deploymentId) return done(); // nothing was created: nothing to undo
    const info = await this.info(deploymentId);
    if (info.status === 'Succeeded')
      throw new AlreadyFinalizedError(
        `deployment ${deploymentId} already succeeded; the old version is gone, so start a release of the previous image instead`,
      );
    const stopped = info.status === 'Stopped' || info.status === 'Failed';
    if (!stopped) {
      if (release.driverState?.['stopRequested'] !== deploymentId) {
        const { StopDeploymentCommand } = await codedeploySdk();
        try {
          await (await this.cd()).send(new StopDeploymentCommand({ deploymentId, autoRollbackEnabled: true }));
        } catch (error) {
          // Already stopping or finished between our read and the stop: fine.
          if (!(error instanceof Error && error.name === 'DeploymentAlreadyCompletedException'))
            throw translateAwsError(error, 'codedeploy:StopDeployment', deploymentId);
        }
      }
      return notYet(`CodeDeploy deployment ${deploymentId} is stopping (${info.status ?? ''})`, { deploymentId, stopRequested: deploymentId });
    }
    // Stopped is not rolled back: only a green task set with no production traffic is.
    const green = (await this.target(deploymentId)).greenWeight;
    return green === 0 ? done() : notYet(`deployment ${deploymentId} is ${info.status} but the new version still has ${green}% of production traffic`);
  }

  async finalize(release: Release): Promise<Progress> {
    const deploymentId = this.deploymentId(release);
    const info = await this.info(deploymentId);
    if (info.status === 'Succeeded') return done();
    if (info.status === 'Failed' || info.status === 'Stopped') throw new TargetFailedError(CodeDeployDriver.reason(info));
    if (release.driverState?.['terminationContinued'] === deploymentId)
      return notYet(`CodeDeploy deployment ${deploymentId} is ${info.status ?? ''}: removing the old task set`);
    const { ContinueDeploymentCommand } = await codedeploySdk();
    try {
      // End the termination wait: the blue task set is removed now.
      await (await this.cd()).send(new ContinueDeploymentCommand({ deploymentId, deploymentWaitType: 'TERMINATION_WAIT' }));
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      // Not in its termination wait yet (an AfterAllowTraffic hook still running): ask again on the next read.
      if (name === 'DeploymentIsNotInReadyStateException')
        return notYet(`CodeDeploy deployment ${deploymentId} is not in its termination wait yet (${info.status ?? ''})`);
      // No termination wait configured, or over already: CodeDeploy finishes by itself.
      if (name !== 'InvalidDeploymentWaitTypeException' && name !== 'DeploymentAlreadyCompletedException') {
        throw translateAwsError(error, 'codedeploy:ContinueDeployment', deploymentId);
      }
    }
    return notYet(`CodeDeploy deployment ${deploymentId} is ${info.status ?? ''}: removing the old task set`, { terminationContinued: deploymentId });
  }
}
