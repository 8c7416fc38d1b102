import type { RoundRow, SessionRow } from "../src/run/schema.ts";
import { assertEquals } from "./assert.ts";
import {
  CsvSink,
  ROUND_HEADER,
  SESSION_HEADER,
  toCsv,
} from "../src/run/csv_sink.ts";

const ROW: SessionRow = {
  run_id: "r1",
  client: "ssh2",
  pool_size: 2,
  round: 1,
  session: 2,
  started_at_ms: 12.3456789,
  connect_ms: 0.5,
  auth_ms: 20,
  total_ms: 21.0004,
  bytes: 0,
  lines: 0,
  status: "exec_error",
  error: 'exec: "denied", really,\nyes',
};

Deno.test("csv: headers are exactly the documented order", () => {
  assertEquals(
    SESSION_HEADER.join(","),
    // Version 1's columns, version 6's disconnect_ms right after close_ms,
    // version 4's, 7's, 8's and 9's at the end.
    "run_id,client,pool_size,round,session,started_at_ms,connect_ms,auth_ms,exec_ms,read_ms,close_ms,disconnect_ms,total_ms,bytes,lines,exit_code,status,error,commands,reexec_ms,rtt_ms,teardown_error,host",
  );
  assertEquals(
    ROUND_HEADER.join(","),
    "run_id,client,pool_size,round,started_at_ms,wall_ms,ok,failed,client_cpu_ms,server_cpu_ms,client_rss_mb,machine_cpu_ms,steal_cpu_ms,harness_cpu_ms,rtt_ms,link_hold_p50_ms,link_hold_p99_ms,forwarder_cpu_ms,other_cpu_ms,cpu_window_ms",
  );
});

Deno.test("csv: phases not reached are empty, text is quoted, ms keep 3 decimals", () => {
  const text = toCsv([ROW], SESSION_HEADER);
  assertEquals(
    text,
    'r1,ssh2,2,1,2,12.346,0.500,20,,,,,21.000,0,0,,exec_error,"exec: ""denied"", really,\nyes",,,,,\n',
  );
});

Deno.test("csv: CsvSink writes headers then one append per round", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const sink = CsvSink.create(dir);
    const round: RoundRow = {
      run_id: "r1",
      client: "ssh2",
      pool_size: 2,
      round: 1,
      started_at_ms: 1,
      wall_ms: 2,
      ok: 1,
      failed: 1,
      client_cpu_ms: 3,
      client_rss_mb: 50.5,
    };
    sink.write([ROW, { ...ROW, session: 1, status: "ok", error: "" }], round);
    // Visible before close: a kill loses nothing already written.
    const mid = Deno.readTextFileSync(`${dir}/rounds.csv`).split("\n");
    assertEquals(mid.length, 3);
    sink.close();
    const sessions = Deno.readTextFileSync(`${dir}/sessions.csv`);
    assertEquals(sessions.split("\n")[0], SESSION_HEADER.join(","));
    assertEquals(sessions.endsWith("\n"), true);
    const rounds = Deno.readTextFileSync(`${dir}/rounds.csv`).split("\n");
    assertEquals(rounds[1], "r1,ssh2,2,1,1,2,1,1,3,,50.500,,,,,,,,,");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
