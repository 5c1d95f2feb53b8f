// `edgebus fleet push FILE --url URL (--gateway ID… | --fleet [--gateways N]) [--timeout 60s]`
// (README "Fleets" › "Desired state"): publishes a desired-state document, retained, and waits
// for the gateways' reports of that version. Runs anywhere that reaches the cloud broker.
import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import { parseDesired } from '../config/desired-document.js';
import { parseDuration } from '../config/units.js';
import { formatIssue } from '../config/validate.js';
import { desiredTopic, FLEET_DESIRED_TOPIC, type DesiredReport } from '../usecases/desired-state.js';
import { EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, UsageError, type Io } from './args.js';
import { progress } from './progress.js';

export interface FleetPushOptions {
  url?: string;
  gateway?: string[];
  gateways?: string;
  fleet?: boolean;
  timeout?: string;
}

const REPORTS = 'edgebus/+/config/reported';

export async function runFleet(action: string | undefined, args: string[], opts: FleetPushOptions, io: Io): Promise<number> {
  if (action !== 'push') throw new UsageError(`fleet: expected "push FILE", got ${JSON.stringify(action ?? '')}`);
  if (args.length !== 1) throw new UsageError('fleet push: expected one desired-state document');
  if (!opts.url) throw new UsageError('fleet push: --url mqtt://HOST:PORT (the cloud broker) is required');
  const named = opts.gateway ?? [];
  if (opts.fleet === !!named.length) throw new UsageError('fleet push: give either --fleet (with --gateways N) or one or more --gateway ID');
  let expected: number;
  if (opts.fleet) {
    expected = Number(opts.gateways);
    if (!Number.isInteger(expected) || expected < 1) throw new UsageError(`fleet push: --fleet needs --gateways N, the number of reports to wait for (got ${JSON.stringify(opts.gateways ?? '')})`);
  } else {
    if (opts.gateways !== undefined) throw new UsageError('fleet push: --gateways goes with --fleet; with --gateway the named ones are awaited');
    expected = new Set(named).size;
  }
  let timeoutMs = NaN;
  try {
    timeoutMs = parseDuration(opts.timeout ?? '60s');
  } catch { /* reported below */ }
  if (!(timeoutMs > 0)) throw new UsageError(`fleet push: --timeout expects a duration such as 60s, got ${JSON.stringify(opts.timeout)}`);
  const file = args[0];
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${file}: cannot read desired-state document: ${(err as Error).message}`);
  }
  const { doc, issues, hash } = parseDesired(text, file);
  if (!doc || hash === null) {
    for (const issue of issues) io.err(formatIssue(issue) + '\n');
    return EXIT_USAGE;
  }

  const client = await mqtt.connectAsync(opts.url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 10_000 });
  try {
    const reports = new Map<string, DesiredReport>();
    const bar = progress(`gateways reporting version ${doc.version}`, expected);
    let settle: () => void = () => {};
    const finished = new Promise<void>((resolve) => (settle = resolve));
    client.on('message', (_topic, payload) => {
      let r: DesiredReport;
      try {
        r = JSON.parse(payload.toString('utf8')) as DesiredReport;
      } catch {
        return;
      }
      // Reports of other versions (retained from earlier pushes) are not this push's answer.
      if (r.version !== doc.version || r.hash !== hash || typeof r.gatewayId !== 'string') return;
      if (named.length && !named.includes(r.gatewayId)) return;
      if (!reports.has(r.gatewayId)) bar.tick();
      reports.set(r.gatewayId, r);
      if (reports.size >= expected) settle();
    });
    // Subscribed before publishing, so no report is missed.
    await client.subscribeAsync(REPORTS, { qos: 1 });
    // The text as written (JSON or YAML): the gateways hash what they receive, and validation
    // fills in defaults, so sending the validated object back out would change the hash.
    const topics = opts.fleet ? [FLEET_DESIRED_TOPIC] : [...new Set(named)].map(desiredTopic);
    for (const topic of topics) await client.publishAsync(topic, text, { qos: 1, retain: true });
    io.err(`published version ${doc.version} (hash ${hash}) to ${topics.join(', ')}\n`);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      finished.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs))),
    ]);
    clearTimeout(timer);
    bar.done();
    let failed = false;
    for (const [id, r] of [...reports].sort(([a], [b]) => a.localeCompare(b))) {
      const backtest = Object.entries(r.backtest ?? {}).map(([rule, n]) => `${rule}=${n}`).join(' ');
      io.out(`${id}\t${r.status}${backtest ? `\tbacktest ${backtest}` : ''}${r.drift?.length ? `\tdrift ${r.drift.join(',')}` : ''}\n`);
      for (const e of r.errors ?? []) io.out(`  ${e}\n`);
      if (r.status !== 'applied') failed = true;
    }
    for (const id of named) if (!reports.has(id)) io.out(`${id}\tno report\n`);
    if (timedOut) {
      io.err(`timed out after ${opts.timeout ?? '60s'}: ${reports.size} of ${expected} gateways reported version ${doc.version}\n`);
      return EXIT_RUNTIME;
    }
    return failed ? EXIT_USAGE : EXIT_OK;
  } finally {
    await client.endAsync();
  }
}
