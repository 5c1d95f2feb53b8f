// The daemon's protobufjs codec against protoc, both ways, over the shipped .proto: what the
// gateway encodes is what an independent decoder reads, and a command written by protoc is
// what the gateway reads. Int: it runs protoc, Debian's protobuf-compiler.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DataType, decodeMetrics, encodePayload } from '../../src/upstream/sparkplug/payload.js';
import { metricOf } from '../../src/upstream/sparkplug/metrics.js';
import { decodeWithProtoc, encodeWithProtoc, type TextMessage } from '../helpers/sparkplug-host.js';

describe('Sparkplug B payload codec', () => {
  it('encodes what protoc decodes: seq, timestamps, datatypes, values, is_historical, is_null, engUnit', async () => {
    const t = 1_764_770_000_000;
    const bytes = encodePayload({
      timestamp: t, seq: 255, metrics: [
        { name: 'bdSeq', timestamp: t, datatype: DataType.Int64, longValue: 7 },
        metricOf('temperature', { datatype: DataType.Double, value: 21.5, unit: '°C', timestamp: t - 5 }, true, true),
        metricOf('door', { datatype: DataType.Boolean, value: false, unit: null, timestamp: t }, false, false),
        metricOf('mode', { datatype: DataType.String, value: { a: [1, 'é'] }, unit: null, timestamp: t }, false, false),
        metricOf('gone', { datatype: DataType.Double, value: null, unit: null, timestamp: t }, false, false),
      ],
    });
    const m = await decodeWithProtoc(bytes);
    assert.deepEqual(m.timestamp, [t]);
    assert.deepEqual(m.seq, [255]);
    const [bd, temp, door, mode, gone] = m.metrics as TextMessage[];
    assert.deepEqual(bd, { name: ['bdSeq'], timestamp: [t], datatype: [4], long_value: [7] });
    assert.deepEqual(temp.is_historical, [true]);
    assert.deepEqual(temp.double_value, [21.5]);
    assert.deepEqual(temp.timestamp, [t - 5]);
    const props = (temp.properties as TextMessage[])[0];
    assert.deepEqual(props.keys, ['engUnit']);
    assert.deepEqual((props.values as TextMessage[])[0], { type: [12], string_value: ['°C'] });
    assert.deepEqual(door, { name: ['door'], timestamp: [t], datatype: [11], boolean_value: [false] });
    assert.deepEqual(mode.string_value, ['{"a":[1,"é"]}'], 'objects as their JSON text, UTF-8 intact');
    assert.deepEqual(gone, { name: ['gone'], timestamp: [t], datatype: [10], is_null: [true] });
    assert.equal(m.metrics.length, 5);
  });

  it('reads the metrics of a command protoc wrote, whatever field carries the value', async () => {
    const bytes = await encodeWithProtoc([
      'timestamp: 1',
      'metrics { name: "Node Control/Rebirth" datatype: 11 boolean_value: true }',
      'metrics { name: "setpoint" datatype: 10 double_value: 65.5 }',
      'metrics { name: "count" datatype: 8 long_value: 12 }',
      'metrics { name: "small" datatype: 3 int_value: 4 }',
      'metrics { name: "label" datatype: 12 string_value: "a\\"b" }',
      'metrics { name: "none" datatype: 10 is_null: true }',
    ].join('\n'));
    assert.deepEqual(decodeMetrics(bytes), [
      { name: 'Node Control/Rebirth', datatype: 11, value: true },
      { name: 'setpoint', datatype: 10, value: 65.5 },
      { name: 'count', datatype: 8, value: 12 },
      { name: 'small', datatype: 3, value: 4 },
      { name: 'label', datatype: 12, value: 'a"b' },
      { name: 'none', datatype: 10, value: null },
    ]);
  });

  it('throws on bytes that are not a Sparkplug B payload', () => {
    assert.throws(() => decodeMetrics(Buffer.from([0xff, 0xff, 0xff])));
  });
});
