import type { Stack } from 'aws-cdk-lib';

/**
 * A value as cdk-nag prints it in finding ids: intrinsics rendered as `<Logical.Attr>` and
 * `<AWS::Region>`, so an acknowledgment names exactly one finding.
 */
export function nagString(stack: Stack, value: string): string {
  const render = (v: unknown): string => {
    if (typeof v === 'string') return v;
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o['Ref'] === 'string') return `<${o['Ref']}>`;
      if (Array.isArray(o['Fn::GetAtt'])) return `<${(o['Fn::GetAtt'] as string[]).join('.')}>`;
      if (Array.isArray(o['Fn::Join'])) {
        const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
        return parts.map(render).join(sep);
      }
    }
    return JSON.stringify(v);
  };
  return render(stack.resolve(value));
}
