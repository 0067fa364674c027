-- A gateway's SQLite file as written by framemesh at e462c6a (before schema versions),
-- dumped with sqlite3's iterdump: the migrations' upgrade-in-place test loads it.
BEGIN TRANSACTION;
CREATE TABLE ai_jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,            -- 'request' (a Livepeer API call) or 'stages' (POST /ai/jobs)
    state TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    uploads TEXT,                  -- the directory of the files the client uploaded, if any
    error TEXT
);
INSERT INTO "ai_jobs" VALUES('ai-1','stages','queued',1.7965208024108679295e+09,1.7965208024108679295e+09,NULL,NULL);
CREATE TABLE ai_results (  -- the gateway's exact-result cache
    key TEXT PRIMARY KEY,          -- framemesh.ai.cache.request_key of the stage's request
    job_id TEXT NOT NULL,
    idx INTEGER NOT NULL           -- the stage whose checked outputs answer it
);
CREATE TABLE ai_stages (
    job_id TEXT NOT NULL REFERENCES ai_jobs(id),
    idx INTEGER NOT NULL,
    pipeline TEXT NOT NULL,
    model_id TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',  -- the client's id for the stage
    params TEXT NOT NULL,          -- JSON: the request's fields without the fed inputs
    inputs TEXT NOT NULL DEFAULT '{}',  -- JSON: input field → index of the stage that fills it
    from_uploads TEXT NOT NULL DEFAULT '[]',  -- JSON: input fields read from the client's uploads
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    orchestrator TEXT,
    units INTEGER,
    price INTEGER,
    result TEXT,                   -- JSON: the orchestrator's AIResult
    files TEXT,                    -- JSON: output name → path under the outputs directory
    started REAL,
    finished REAL,
    PRIMARY KEY (job_id, idx)
);
INSERT INTO "ai_stages" VALUES('ai-1',0,'text-to-image','m','img','{"prompt": "a cat"}','{}','[]','pending',0,NULL,NULL,NULL,NULL,NULL,NULL,NULL);
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    digest TEXT NOT NULL UNIQUE,   -- SHA-256 of the key; the key itself is never stored
    prefix TEXT NOT NULL,          -- its first characters, to tell keys apart
    created REAL NOT NULL,
    revoked REAL,
    spend_wei TEXT,                -- spend limit: wei per spend_seconds
    spend_seconds REAL,
    rate REAL,                     -- requests per second
    concurrency INTEGER            -- requests at once
);
INSERT INTO "api_keys" VALUES('1893323d1af4','old','3d6548b80609b7593ab299c537638a390db762d6ec3faad989dec9e6a4eebdb9','fmk_O9Qm',1.79652080240931963928e+09,NULL,NULL,NULL,NULL,NULL);
CREATE TABLE job_errors (
    job_id TEXT NOT NULL REFERENCES jobs(id),
    at REAL NOT NULL,
    segment INTEGER,
    orchestrator TEXT,
    message TEXT NOT NULL
);
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    profiles TEXT NOT NULL,
    source TEXT NOT NULL,
    source_name TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    segments_total INTEGER,
    error TEXT,
    master TEXT
);
INSERT INTO "jobs" VALUES('vod-1','queued','360p','/data/src.mp4','src.mp4',1.79652080240961098669e+09,1.79652080241004848482e+09,1,NULL,NULL);
CREATE TABLE key_jobs (  -- whose job (transcode, AI, stream) each is
    job_id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL,
    kind TEXT NOT NULL
);
INSERT INTO "key_jobs" VALUES('vod-1','1893323d1af4','transcode');
CREATE TABLE key_usage (
    key_id TEXT NOT NULL,
    at REAL NOT NULL,
    kind TEXT NOT NULL,            -- transcode, ai, llm, live
    job_id TEXT NOT NULL,
    units INTEGER NOT NULL,
    wei TEXT NOT NULL
);
INSERT INTO "key_usage" VALUES('1893323d1af4',1.79652080241057014462e+09,'transcode','vod-1',10,'12345678901234567890123');
CREATE TABLE score_points (
    at REAL NOT NULL,
    url TEXT NOT NULL,
    address TEXT,
    kind TEXT NOT NULL,
    pipeline TEXT,
    model TEXT,
    score REAL NOT NULL,
    success_rate REAL NOT NULL,
    latency_score REAL NOT NULL,
    round_trip_p50 REAL,
    samples INTEGER NOT NULL
);
INSERT INTO "score_points" VALUES(1000.0,'http://o1','0xabc','transcode',NULL,NULL,0.9,1.0,0.8,0.5,3);
CREATE TABLE segments (
    job_id TEXT NOT NULL REFERENCES jobs(id),
    idx INTEGER NOT NULL,
    path TEXT NOT NULL,
    start REAL NOT NULL,
    duration REAL NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    orchestrator TEXT,
    PRIMARY KEY (job_id, idx)
);
INSERT INTO "segments" VALUES('vod-1',0,'/data/0.mkv',0.0,2.0,'pending',0,NULL);
CREATE TABLE stream_controls (
    stream_id TEXT NOT NULL REFERENCES streams(id),
    n INTEGER NOT NULL,            -- 1, 2, ... in the order asked
    params TEXT NOT NULL,          -- JSON: every setting in effect once it applies
    state TEXT NOT NULL,           -- pending, applied, rejected or unused
    requested_at REAL NOT NULL,
    effective_seq INTEGER,         -- the first segment made with it
    effective_at REAL,             -- when that segment was listed
    error TEXT,
    PRIMARY KEY (stream_id, n)
);
CREATE TABLE stream_segments (
    stream_id TEXT NOT NULL REFERENCES streams(id),
    seq INTEGER NOT NULL,
    duration REAL NOT NULL,
    discontinuity INTEGER NOT NULL,
    first_frame_at REAL NOT NULL,
    state TEXT NOT NULL,           -- in_work, listed or skipped
    orchestrator TEXT,
    attempts INTEGER NOT NULL,
    round_trip REAL,
    latency REAL,
    files TEXT,                    -- JSON: rendition → [file, init bytes, media bytes]
    PRIMARY KEY (stream_id, seq)
);
CREATE TABLE streams (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    stream_key TEXT NOT NULL UNIQUE,
    profiles TEXT NOT NULL,
    record INTEGER NOT NULL,
    state TEXT NOT NULL,
    error TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    live_since REAL,
    ended_at REAL,
    recording TEXT,                -- the recording's master playlist, under the outputs directory
    fees TEXT NOT NULL DEFAULT '0',  -- wei paid for its segments
    swaps INTEGER NOT NULL DEFAULT 0,
    reconnects INTEGER NOT NULL DEFAULT 0
, ai TEXT);
INSERT INTO "streams" VALUES('s-1','cam','key-1','360p',1,'idle',NULL,1.79652080241131138806e+09,1.79652080241131138806e+09,NULL,NULL,NULL,'0',0,0,'{"pipeline": "p", "model_id": "m", "params": {}}');
CREATE INDEX key_usage_by_key ON key_usage (key_id, at);
CREATE INDEX key_jobs_by_key ON key_jobs (key_id);
CREATE INDEX score_points_by_url ON score_points (url, at);
CREATE INDEX score_points_by_address ON score_points (address, at);
CREATE INDEX score_points_by_at ON score_points (at);
COMMIT;
