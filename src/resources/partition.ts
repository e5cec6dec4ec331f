/**
 * AWS partitions and their DNS suffixes, so ARNs and hosts work outside the commercial partition
 * (China, GovCloud, the isolated regions). Source: the AWS SDK's partition data (partitions.json):
 * `cn-*` is aws-cn on amazonaws.com.cn, `us-gov-*` is aws-us-gov on amazonaws.com, `us-iso-*` is
 * aws-iso on c2s.ic.gov, `us-isob-*` is aws-iso-b on sc2s.sgov.gov, everything else is aws.
 */
const PARTITIONS = [
  { prefix: 'cn-', partition: 'aws-cn', urlSuffix: 'amazonaws.com.cn' },
  { prefix: 'us-gov-', partition: 'aws-us-gov', urlSuffix: 'amazonaws.com' },
  { prefix: 'us-isob-', partition: 'aws-iso-b', urlSuffix: 'sc2s.sgov.gov' },
  { prefix: 'us-iso-', partition: 'aws-iso', urlSuffix: 'c2s.ic.gov' },
] as const;

/** The partition and DNS suffix of a region. */
export function partitionOf(region: string): { partition: string; urlSuffix: string } {
  const found = PARTITIONS.find((p) => region.startsWith(p.prefix));
  return found ? { partition: found.partition, urlSuffix: found.urlSuffix } : { partition: 'aws', urlSuffix: 'amazonaws.com' };
}

/** The registry host of an account's private ECR registry in a region. */
export function ecrRegistry(account: string, region: string): string {
  return `${account}.dkr.ecr.${region}.${partitionOf(region).urlSuffix}`;
}
