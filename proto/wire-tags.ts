// Field tags (field number << 3 | wire type) of proto/netmatrix/v1/collector.proto
// that code reading or writing the protobuf wire format by hand needs: the
// aggregator's Report decoder (aggregator/grpc/report-wire.ts) and the
// simulated agents of netmatrix-sim (sim/report-wire.ts). One place, next to the
// .proto they must follow; test/aggregator/grpc/report-wire.test.ts checks the
// decoder against proto-loader's decoding, which would catch a drift.
export const AGENT_MESSAGE_REPORT = 0x12; // AgentMessage.report = 2, length-delimited
export const REPORT_SEQUENCE = 0x08; // Report.sequence = 1
export const REPORT_ROUND = 0x10; // Report.round = 2
export const REPORT_SENT_AT = 0x18; // Report.sent_at_ms = 3
export const REPORT_RESULT = 0x22; // Report.results = 4, length-delimited
export const RESULT_KIND = 0x08; // ProbeResult.kind = 1
export const RESULT_TARGET_NODE = 0x12; // ProbeResult.target_node = 2
export const RESULT_TARGET_IP = 0x1a; // ProbeResult.target_ip = 3
export const RESULT_FAMILY = 0x20; // ProbeResult.family = 4
export const RESULT_OUTCOME = 0x28; // ProbeResult.outcome = 5
export const RESULT_RTT = 0x30; // ProbeResult.rtt_us = 6
export const RESULT_TIMESTAMP = 0x38; // ProbeResult.timestamp_ms = 7
export const RESULT_HTTP = 0x4a; // ProbeResult.http = 9, length-delimited
export const RESULT_DNS = 0x52; // ProbeResult.dns = 10, length-delimited
export const RESULT_LOOP_DELAY = 0x58; // ProbeResult.loop_delay_us = 11
export const AGGREGATOR_MESSAGE_PLAN = 0x0a; // AggregatorMessage.plan = 1
