-- wrk script: print requests/s and the 95th percentile latency in ms.
done = function(summary, latency, requests)
  io.write(string.format("RESULT rps=%.1f p95_ms=%.2f errors=%d non2xx=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(95) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
