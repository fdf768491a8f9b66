#!/usr/bin/env python3
"""Herald's monthly AWS bill at 0, 1,000, 100,000 and 10 million published posts.

   python3 docs/cost.py            # the table docs/cost.md quotes
   python3 docs/cost.py 250000     # any other volumes

Every input is in MEASURED (with the command that printed it) or ASSUMED (with why), every
price in PRICES (us-east-1 list prices, no free tier). Change them and run again.
"""

import math
import sys

# What the benchmarks and the cloud-path test printed on this machine (2 cores, shared).
MEASURED = {
    # cargo bench -p herald-app --bench scale -- embedded (10,000 posts, 100 accounts; the
    # lines "scheduling, per post" and "of which per target", the same at 0 and 300 ms):
    # table requests per post with one target, scheduling it (posts::create) and publishing
    # it (claim, prepare, send, record, due-index reads, event relay; the sandbox network's
    # own outbox write included, which a real network does not make).
    "schedule_reads": 3.00,
    "schedule_writes": 0.00,
    "schedule_tx_items": 4.00,
    "publish_reads": 1.09,
    "publish_writes": 4.00,
    "publish_tx_items": 5.00,
    # cargo bench -p herald-testkit --bench cold_start (release binaries, HERALD_BACKEND=aws
    # against moto on loopback, 5 rounds on a loaded 2-core machine): init median 28-74 ms
    # (min 21-33), first invocation median: publisher 43.6 ms (a run against moto), relay
    # 17.2, webhooks 22.0. The bench's intake and aggregator invocations do almost nothing
    # (0.6 ms): for a post's API request and an event counted, 8 and 4 table calls at about
    # 5 ms each are taken instead (assumed).
    "init_ms": 30.0,
    "first_invoke_ms": {
        "intake": 40.0,
        "publisher": 43.6,
        "aggregator": 20.0,
        "webhooks": 22.0,
        "relay": 17.2,
    },
    # cargo test -p herald-testkit --test cloud_path -- --nocapture ("log bytes"): intake
    # 1,380 bytes for about 10 API requests, publisher 1,098 for two runs (EMF lines
    # included), relay 609 for three wake-ups, aggregator 0: per post about 140 (its request)
    # + 550 (its run) + 400 (two relay wake-ups), rounded up.
    "log_bytes_per_post": 1500,
}

# Not measured here; each says why it is what it is.
ASSUMED = {
    # A network's API answers a publish in about 300 ms (the scale bench's slow sandbox); the
    # send invocation waits for it. Network latency, not Herald, is most of the publisher's
    # GB-seconds; sends of one second overlap in one invocation, so this is an upper bound.
    "network_ms": 300.0,
    # Read from the code, not measured: each API request reads its key (auth.rs), takes one
    # unit from two rate windows in one transaction (api_rate.rs) and writes an audit entry
    # (intake's audit layer).
    "api_reads": 1.0,
    "api_writes": 1.0,
    "api_tx_items": 2.0,
    # Each post makes two events (post.scheduled, post.published); the bus hands each to the
    # aggregator and to webhook delivery (one invocation each, EventBridge does not batch).
    # The aggregator reads and counts one in a transaction of about four items; the webhook
    # function reads the workspace's endpoints (none here: no deliveries).
    "events_per_post": 2,
    "aggregator_reads_per_event": 2.0,
    "aggregator_tx_items_per_event": 4.0,
    "webhooks_reads_per_event": 1.0,
    # A 1 KB event; a DynamoDB item under 1 KB (one WRU a write, two in a transaction) and
    # reads under 4 KB (one RRU strongly consistent; index queries count as one too).
    # Warm invocations: one cold start per 100 invocations (KMS decrypts of the sealing key).
    "cold_start_share": 0.01,
    # Item 1's wake-up design: one one-time schedule per due minute; its run starts one
    # Step Functions Express execution (SendDelays) holding the minute's sends, a batch of up
    # to ten per second, 40 batches an execution at most; one sender invocation per batch;
    # an hourly sweep of the due index (730 invocations a month). Nothing polls: an idle
    # month starts no execution. (A delayed SQS queue instead would cost Lambda's trigger's
    # idle long-polling: 5 pollers, a 20 s ReceiveMessage each, ~657,000 requests a month.)
    "sweeps_per_month": 730,
    "sends_per_batch": 10,
    "batches_per_execution": 40,
    # How long an execution lasts: its minute's wake fires 60-120 s before the minute and the
    # minute's sends spread over its 60 s, so from about 60 s (one send at the minute's start,
    # an early wake) to 180 s; 120 s on average. Billed per 100 ms at 64 MB, the least.
    "execution_s": 120.0,
    "execution_gb": 64 / 1024,
    # Webhook retries are woken on demand as the publisher is (a retry within 3 minutes is a
    # message handed to SendDelays, delayed to its second; a later one its minute's one-time
    # schedule), with an hourly safety sweep: 730 runs a month. The aggregator's polls wake
    # on demand too: a one-time schedule per quarter hour holding insight polls due (1 h,
    # 24 h and 7 d after publishing: at most three wakes per quarter that published
    # anything), and an hourly sweep. Each idle run is one index query and a few ms.
    "webhook_sweeps_per_month": 730,
    "aggregator_sweeps_per_month": 730,
    "insight_stages": 3,
    # With any Mastodon or Bluesky account connected, its notifications are polled every 5
    # minutes (8,760 runs a month); the table assumes none.
    "notification_polls_per_month": 0,
    "idle_run_ms": 5.0,
    # EMF series reported while posts flow: function x (PostsPublished, PublishLateness,
    # PostsFailed, PublishRetries) for one network, each also per network, plus webhook
    # successes/failures and inbox items (function and network): 14 series. CloudWatch bills a
    # custom metric by the hours it receives data; a busy month reports in all 730.
    "metric_series": 14,
    # What a post leaves in the table (post, target, audit entry; its events expire after 30
    # days): about 3 KB, not measured. Storage grows by it every month the posts are kept.
    "stored_bytes_per_post": 3000,
    # 15 alarms (6 function errors, 6 dead-letter depths, SendDelays failed and timed out,
    # lateness), 1 dashboard.
    "alarms": 15,
    "dashboards": 1,
}

MEMORY_MB = {  # template.yaml
    "intake": 256,
    "publisher": 512,
    "aggregator": 512,
    "webhooks": 256,
    "relay": 256,
}

# us-east-1 list prices in USD, as published in November 2026 (unchanged since DynamoDB's
# on-demand reduction of November 2024); free tiers left out.
PRICES = {
    "lambda_arm_gb_s": 0.0000133334,
    "lambda_request": 0.20 / 1e6,
    "http_api_request": 1.00 / 1e6,
    "ddb_wru": 0.625 / 1e6,
    "ddb_rru": 0.125 / 1e6,
    "eventbridge_event": 1.00 / 1e6,
    "scheduler_invocation": 1.00 / 1e6,
    # Step Functions Express: per execution, and per GB-second (the first 1,000 GB-hours'
    # rate; a month at every minute busy is under 200).
    "sfn_express_request": 1.00 / 1e6,
    "sfn_express_gb_s": 0.00001667,
    "logs_ingest_gb": 0.50,
    "metric_month": 0.30,
    "alarm_month": 0.10,
    "dashboard_month": 3.00,
    "kms_request": 0.03 / 1e4,
    # Table storage and its point-in-time recovery, per GB-month.
    "ddb_storage_gb": 0.25,
    "pitr_gb": 0.20,
}

MINUTES = 60 * 24 * 365 / 12
SECONDS = MINUTES * 60
HOURS = MINUTES / 60
QUARTERS = MINUTES / 15


def gb_s(function, ms):
    return MEMORY_MB[function] / 1024 * ms / 1000


def month(posts):
    m, a, p = MEASURED, ASSUMED, PRICES
    lines = {}
    # Invocations and GB-seconds, by function.
    events = posts * a["events_per_post"]
    busy_minutes = min(posts, MINUTES)
    minute_runs = busy_minutes + a["sweeps_per_month"]
    # A busy minute's posts spread over its seconds: a batch per second, or ten to a batch.
    per_minute = posts / busy_minutes if busy_minutes else 0
    batches_per_minute = max(min(60, per_minute), per_minute / a["sends_per_batch"])
    sends = busy_minutes * batches_per_minute
    executions = busy_minutes * math.ceil(batches_per_minute / a["batches_per_execution"])
    relays = min(events, SECONDS)
    polls = (
        a["aggregator_sweeps_per_month"]
        + a["insight_stages"] * min(posts, QUARTERS)
        + a["notification_polls_per_month"]
    )
    invocations = {
        "intake": posts,
        "publisher": minute_runs + sends,
        "aggregator": events + polls,
        "webhooks": events + a["webhook_sweeps_per_month"],
        "relay": relays,
    }
    fi = m["first_invoke_ms"]
    seconds_of = {
        "intake": gb_s("intake", fi["intake"]) * posts,
        "publisher": gb_s("publisher", fi["publisher"]) * minute_runs
        + gb_s("publisher", a["network_ms"] + fi["publisher"]) * posts,
        "aggregator": gb_s("aggregator", fi["aggregator"]) * events
        + gb_s("aggregator", a["idle_run_ms"]) * polls,
        "webhooks": gb_s("webhooks", fi["webhooks"]) * events
        + gb_s("webhooks", a["idle_run_ms"]) * a["webhook_sweeps_per_month"],
        "relay": gb_s("relay", fi["relay"]) * relays,
    }
    total_invocations = sum(invocations.values())
    cold = total_invocations * a["cold_start_share"]
    init_gb_s = sum(
        gb_s(f, m["init_ms"]) * n * a["cold_start_share"] for f, n in invocations.items()
    )
    lines["Lambda"] = (
        total_invocations * p["lambda_request"]
        + (sum(seconds_of.values()) + init_gb_s) * p["lambda_arm_gb_s"]
    )
    lines["HTTP API"] = posts * p["http_api_request"]
    # DynamoDB request units.
    reads = posts * (
        m["schedule_reads"] + m["publish_reads"] + a["api_reads"]
    ) + events * (a["aggregator_reads_per_event"] + a["webhooks_reads_per_event"])
    idle_reads = a["sweeps_per_month"] + a["webhook_sweeps_per_month"] + polls
    writes = posts * (
        m["schedule_writes"]
        + m["publish_writes"]
        + a["api_writes"]
        + 2 * (m["schedule_tx_items"] + m["publish_tx_items"] + a["api_tx_items"])
    ) + events * 2 * a["aggregator_tx_items_per_event"]
    lines["DynamoDB"] = (reads + idle_reads) * p["ddb_rru"] + writes * p["ddb_wru"]
    lines["EventBridge (bus + Scheduler)"] = (
        events * p["eventbridge_event"]
        + (min(posts, MINUTES) + a["sweeps_per_month"]) * p["scheduler_invocation"]
        + (a["webhook_sweeps_per_month"] + polls) * p["scheduler_invocation"]
    )
    lines["Step Functions (sends)"] = executions * (
        p["sfn_express_request"] + a["execution_gb"] * a["execution_s"] * p["sfn_express_gb_s"]
    )
    lines["CloudWatch Logs"] = posts * m["log_bytes_per_post"] / 1e9 * p["logs_ingest_gb"]
    active_hours = min(HOURS, posts)
    lines["CloudWatch metrics"] = (
        a["metric_series"] * active_hours / HOURS * p["metric_month"]
    )
    lines["KMS (cold starts)"] = (cold + 2) * p["kms_request"]
    lines["Storage the month adds (table + PITR)"] = (
        posts * a["stored_bytes_per_post"] / 1e9 * (p["ddb_storage_gb"] + p["pitr_gb"])
    )
    lines["Alarms + dashboard"] = (
        a["alarms"] * p["alarm_month"] + a["dashboards"] * p["dashboard_month"]
    )
    return lines, total_invocations, reads + idle_reads, writes


def money(x):
    if x == 0:
        return "$0"
    if x < 0.01:
        return f"${x:.4f}"
    return f"${x:,.2f}"


def main():
    volumes = [int(v) for v in sys.argv[1:]] or [0, 1_000, 100_000, 10_000_000]
    results = [month(v) for v in volumes]
    print("| monthly, us-east-1 list prices | " + " | ".join(f"{v:,} posts" for v in volumes) + " |")
    print("| --- |" + " --- |" * len(volumes))
    for name in results[0][0]:
        print(f"| {name} | " + " | ".join(money(r[0][name]) for r in results) + " |")
    print("| **total** | " + " | ".join(f"**{money(sum(r[0].values()))}**" for r in results) + " |")
    fixed = results[0][0]["Alarms + dashboard"]
    print(
        "| total with `Monitoring=off` | "
        + " | ".join(money(sum(r[0].values()) - fixed) for r in results)
        + " |"
    )
    print(
        "| per 1,000 posts | "
        + " | ".join(
            money((sum(r[0].values()) - fixed) / v * 1000) if v else "-"
            for v, r in zip(volumes, results)
        )
        + " |"
    )
    print(
        "| Lambda invocations | "
        + " | ".join(f"{math.ceil(r[1]):,}" for r in results)
        + " |"
    )
    print(
        "| DynamoDB RRU / WRU | "
        + " | ".join(f"{math.ceil(r[2]):,} / {math.ceil(r[3]):,}" for r in results)
        + " |"
    )


if __name__ == "__main__":
    main()
