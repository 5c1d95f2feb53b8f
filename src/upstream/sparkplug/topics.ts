// The Sparkplug B topic namespace (3.0 "Topics"): spBv1.0/<group>/<type>/<edge node>[/<device>],
// and the primary host's spBv1.0/STATE/<host id>.
import type { SparkplugConfig } from '../../config/types.js';

const NAMESPACE = 'spBv1.0';

export class SparkplugTopics {
  readonly nbirth: string;
  readonly ndeath: string;
  readonly ncmd: string;
  /** Every device's commands: the last level names the device. */
  readonly dcmdFilter: string;
  /** null without a primary host */
  readonly state: string | null;
  private readonly group: string;
  private readonly nodePath: string;
  private readonly dcmdPrefix: string;

  constructor(c: SparkplugConfig) {
    const group = `${NAMESPACE}/${c.groupId}`;
    this.nodePath = c.edgeNodeId;
    this.nbirth = `${group}/NBIRTH/${c.edgeNodeId}`;
    this.ndeath = `${group}/NDEATH/${c.edgeNodeId}`;
    this.ncmd = `${group}/NCMD/${c.edgeNodeId}`;
    this.dcmdPrefix = `${group}/DCMD/${c.edgeNodeId}/`;
    this.dcmdFilter = `${this.dcmdPrefix}+`;
    this.state = c.primaryHostId === null ? null : `${NAMESPACE}/STATE/${c.primaryHostId}`;
    this.group = group;
  }

  device(type: 'DBIRTH' | 'DDATA' | 'DDEATH', device: string): string {
    return `${this.group}/${type}/${this.nodePath}/${device}`;
  }

  /** The device a DCMD topic names; null for any other topic. */
  dcmdDevice(topic: string): string | null {
    if (!topic.startsWith(this.dcmdPrefix)) return null;
    const device = topic.slice(this.dcmdPrefix.length);
    return isSparkplugId(device) ? device : null;
  }
}

/** A device id that fits one topic level (Sparkplug ids take no /, + or #). */
export function isSparkplugId(id: string): boolean {
  return id.length > 0 && !/[/+#]/.test(id);
}
