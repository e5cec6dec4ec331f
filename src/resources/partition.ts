/**
 * AWS partitions, their DNS suffixes and console hosts, so ARNs, hosts and console links work
 * outside the commercial partition. Source: the AWS SDK's partition data (partitions.json in
 * @aws-sdk/core's util-endpoints, which aws-cdk-lib's region-info agrees with): `cn-*` is aws-cn on
 * amazonaws.com.cn, `us-gov-*` aws-us-gov on amazonaws.com, `us-iso-*` aws-iso on c2s.ic.gov,
 * `us-isob-*` aws-iso-b on sc2s.sgov.gov, `eu-isoe-*` aws-iso-e on cloud.adc-e.uk, `us-isof-*`
 * aws-iso-f on csp.hci.ic.gov, `eusc-*` aws-eusc (AWS European Sovereign Cloud; the SDK's pattern is
 * `^eusc-(de)-\w+-\d+$`, its one region eusc-de-east-1) on amazonaws.eu; everything else is aws.
 *
 * Console hosts are not in the partition data. Commercial regions have `<region>.console.aws.amazon.com`
 * and China `<region>.console.amazonaws.cn` (AWS General Reference, "AWS Management Console
 * endpoints"); GovCloud has one host, `console.amazonaws-us-gov.com` (AWS GovCloud (US) User Guide),
 * the region going in `?region=`. The European Sovereign Cloud's `console.amazonaws-eusc.eu` is from
 * a third-party guide (no AWS reference page found in December 2026): unverified. The isolated
 * partitions have no console reachable from outside, so no link is made for them.
 */
export const PARTITIONS = [
  { prefix: 'cn-', partition: 'aws-cn', urlSuffix: 'amazonaws.com.cn', console: (region: string) => `${region}.console.amazonaws.cn` },
  { prefix: 'us-gov-', partition: 'aws-us-gov', urlSuffix: 'amazonaws.com', console: () => 'console.amazonaws-us-gov.com' },
  { prefix: 'eusc-', partition: 'aws-eusc', urlSuffix: 'amazonaws.eu', console: () => 'console.amazonaws-eusc.eu' },
  { prefix: 'us-isob-', partition: 'aws-iso-b', urlSuffix: 'sc2s.sgov.gov', console: undefined },
  { prefix: 'us-isof-', partition: 'aws-iso-f', urlSuffix: 'csp.hci.ic.gov', console: undefined },
  { prefix: 'us-iso-', partition: 'aws-iso', urlSuffix: 'c2s.ic.gov', console: undefined },
  { prefix: 'eu-isoe-', partition: 'aws-iso-e', urlSuffix: 'cloud.adc-e.uk', console: undefined },
] as const;

const COMMERCIAL = { partition: 'aws', urlSuffix: 'amazonaws.com', console: (region: string) => `${region}.console.aws.amazon.com` } as const;

/** A region name as AWS spells them (`eu-west-1`, `us-gov-west-1`, `eusc-de-east-1`). */
const REGION = /^[a-z]{2,}(?:-[a-z]+)+-\d+$/;

function entryOf(region: string) {
  if (!REGION.test(region))
    throw new Error(`"${region}" is not an AWS region name such as "eu-west-1": set AWS_REGION (or the stack's env.region) to the region Switchyard runs in`);
  return PARTITIONS.find((p) => region.startsWith(p.prefix)) ?? COMMERCIAL;
}

/** The partition and DNS suffix of a region. */
export function partitionOf(region: string): { partition: string; urlSuffix: string } {
  const { partition, urlSuffix } = entryOf(region);
  return { partition, urlSuffix };
}

/**
 * An ARN in the region's partition.
 * @example arnOf('cn-north-1', 'ecs', '123456789012', 'service/prod/web') // 'arn:aws-cn:ecs:cn-north-1:123456789012:service/prod/web'
 */
export function arnOf(region: string, service: string, account: string, resource: string): string {
  return `arn:${partitionOf(region).partition}:${service}:${region}:${account}:${resource}`;
}

/** A service's regional endpoint host (`<service>.<region>.<dns suffix>`). */
export function serviceHost(service: string, region: string): string {
  return `${service}.${region}.${partitionOf(region).urlSuffix}`;
}

/** The registry host of an account's private ECR registry in a region. */
export function ecrRegistry(account: string, region: string): string {
  return `${account}.dkr.ecr.${region}.${partitionOf(region).urlSuffix}`;
}

/** The AWS Management Console host for a region, or undefined where the console is not reachable from outside (the isolated partitions). */
export function consoleHost(region: string): string | undefined {
  return entryOf(region).console?.(region);
}

/**
 * A console page in a region: `https://<console host>/<path>?region=<region>` and the fragment, or
 * undefined where there is no console to link to. The region parameter matters on hosts shared by
 * a partition's regions (GovCloud's, the European Sovereign Cloud's).
 *
 * @example consoleUrl('us-gov-west-1', 'cloudwatch/home', 'logsV2:logs-insights') // 'https://console.amazonaws-us-gov.com/cloudwatch/home?region=us-gov-west-1#logsV2:logs-insights'
 */
export function consoleUrl(region: string, path: string, fragment?: string): string | undefined {
  const host = consoleHost(region);
  return host ? `https://${host}/${path.replace(/^\//, '')}?region=${region}${fragment ? `#${fragment}` : ''}` : undefined;
}
