#!/usr/bin/env python3
"""Share of JFR execution samples spent in telemetry code (metrics, tracing, MDC), by self time.
Usage: jfr print --stack-depth 128 --events jdk.ExecutionSample F.jfr | python3 bench/scripts/jfr-telemetry-share.py
Record one with e.g. java -XX:StartFlightRecording=delay=55s,duration=30s,settings=profile,filename=F.jfr
  -jar bench/target/sagaflow-bench.jar bench --sagas 150000 --concurrency 64 --steps 3 --participants local"""
import sys, re, collections
MARKERS = {
  'micrometer': re.compile(r'^\s*io\.micrometer\.'),
  'opentelemetry': re.compile(r'^\s*io\.opentelemetry\.'),
  'sagaflow telemetry': re.compile(r'^\s*io\.sagaflow\.orchestrator\.telemetry\.'),
  'log context (MDC)': re.compile(r'^\s*(io\.sagaflow\.orchestrator\.SagaLogContext|org\.slf4j\.MDC|ch\.qos\.logback\.classic\.util\.LogbackMDCAdapter)'),
}
total = 0; hits = collections.Counter(); anyhit = 0; threads = collections.Counter(); tele_threads = collections.Counter()
stack = None; thread = None
def flush():
    global total, anyhit
    if stack is None: return
    total += 1
    threads[thread] += 1
    # Self time: the sample goes to the first frame from the leaf that is not the JDK's own
    # (java.*, jdk.*, sun.*): a HashMap.put inside MDC.put counts for MDC. An interceptor that is
    # merely on the stack (SagaLogContext wraps every message) does not count.
    found = set()
    for line in stack:
        if re.match(r'^\s*(java|javax|jdk|sun|com\.sun)\.', line):
            continue
        for name, rx in MARKERS.items():
            if rx.match(line): found.add(name)
        break
    for f in found: hits[f] += 1
    if found:
        anyhit += 1; tele_threads[thread] += 1
for line in sys.stdin:
    if line.startswith('jdk.ExecutionSample'):
        flush(); stack = []; thread = None
    elif 'sampledThread' in line:
        m = re.search(r'"([^"]*)"', line); thread = re.sub(r'-\d+$', '-N', m.group(1)) if m else '?'
    elif stack is not None and re.match(r'^\s+[\w$.]+\.[\w$<>]+\(', line):
        stack.append(line)
flush()
print(f'samples {total}; with a telemetry frame {anyhit} = {100.0*anyhit/max(total,1):.2f} %')
for k, v in hits.most_common(): print(f'  {k:22s} {v:7d} {100.0*v/total:6.2f} %')
print('threads (top 8):')
for k, v in threads.most_common(8): print(f'  {k:50s} {v:7d} telemetry {tele_threads[k]}')
