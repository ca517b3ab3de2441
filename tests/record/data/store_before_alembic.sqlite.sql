-- A SQLite run store, as Rob'O made it before Alembic (commit 05622ce: runner/store.py, runner/_schedule_db.py),
-- with a finished run (one item, one step), a schedule service, a fire and a paused schedule.
-- Made by opening such a store with that code and dumping it (sqlite3 iterdump).
CREATE TABLE items (
	id INTEGER NOT NULL, 
	run_id VARCHAR(64) NOT NULL, 
	loop VARCHAR(200) NOT NULL, 
	"key" TEXT NOT NULL, 
	position INTEGER NOT NULL, 
	status VARCHAR(32) NOT NULL, 
	started_at VARCHAR(40), 
	finished_at VARCHAR(40), 
	duration FLOAT, 
	attempts INTEGER, 
	error TEXT, 
	outcome JSON, 
	effects JSON, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_items_run_loop_key UNIQUE (run_id, loop, "key")
);
CREATE TABLE runs (
	id VARCHAR(64) NOT NULL, 
	workflow TEXT NOT NULL, 
	workflow_file TEXT NOT NULL, 
	status VARCHAR(32) NOT NULL, 
	started_at VARCHAR(40) NOT NULL, 
	finished_at VARCHAR(40), 
	duration FLOAT, 
	error TEXT, 
	inputs JSON, 
	counts JSON, 
	run_dir TEXT, 
	pid INTEGER, 
	host VARCHAR(200), 
	resumed_from VARCHAR(64), 
	dry_run INTEGER, 
	last_hash VARCHAR(64), 
	proc_started FLOAT, 
	sessions INTEGER, 
	session_started_at VARCHAR(40), 
	prior_duration FLOAT, 
	workflow_lock TEXT, 
	PRIMARY KEY (id)
);
CREATE TABLE schedule_apscheduler_jobs (
	id VARCHAR(191) NOT NULL, 
	next_run_time FLOAT, 
	job_state BLOB NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE schedule_fires (
	id INTEGER NOT NULL, 
	job_id VARCHAR(300) NOT NULL, 
	fire_time VARCHAR(40) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	owner VARCHAR(64) NOT NULL, 
	host VARCHAR(200) NOT NULL, 
	pid INTEGER NOT NULL, 
	claimed_at FLOAT NOT NULL, 
	expires_at FLOAT NOT NULL, 
	status VARCHAR(32) NOT NULL, 
	run_pid INTEGER, 
	started_at FLOAT, 
	finished_at FLOAT, 
	exit_code INTEGER, 
	run_id VARCHAR(64), 
	run_dir TEXT, 
	output TEXT, 
	detail TEXT, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_schedule_fires_job_time UNIQUE (job_id, fire_time)
);
CREATE TABLE schedule_jobs (
	job_id VARCHAR(300) NOT NULL, 
	paused INTEGER NOT NULL, 
	changed_at FLOAT, 
	changed_by VARCHAR(200), 
	PRIMARY KEY (job_id)
);
CREATE TABLE schedule_requests (
	id INTEGER NOT NULL, 
	job_id VARCHAR(300) NOT NULL, 
	requested_at FLOAT NOT NULL, 
	requested_by VARCHAR(200), 
	claimed_by VARCHAR(64), 
	claimed_at FLOAT, 
	fire_id INTEGER, 
	PRIMARY KEY (id)
);
CREATE TABLE schedule_services (
	id VARCHAR(64) NOT NULL, 
	host VARCHAR(200) NOT NULL, 
	pid INTEGER NOT NULL, 
	started_at FLOAT NOT NULL, 
	beat_at FLOAT NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	schedules INTEGER, 
	workflows_dir TEXT, 
	PRIMARY KEY (id)
);
CREATE TABLE steps (
	id INTEGER NOT NULL, 
	run_id VARCHAR(64) NOT NULL, 
	step VARCHAR(200) NOT NULL, 
	name TEXT NOT NULL, 
	item TEXT, 
	lane INTEGER, 
	status VARCHAR(32) NOT NULL, 
	finished_at VARCHAR(40), 
	duration FLOAT, 
	error TEXT, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_runs_started_at ON runs (started_at);
CREATE INDEX ix_runs_status ON runs (status);
CREATE INDEX ix_runs_workflow ON runs (workflow);
CREATE UNIQUE INDEX uq_runs_workflow_lock ON runs (workflow_lock);
CREATE INDEX ix_steps_run ON steps (run_id);
CREATE INDEX ix_items_run_status ON items (run_id, status);
CREATE INDEX ix_schedule_fires_job_status ON schedule_fires (job_id, status);
CREATE INDEX ix_schedule_apscheduler_jobs_next_run_time ON schedule_apscheduler_jobs (next_run_time);
INSERT INTO "items" VALUES(1,'r-old','rows','A-1',0,'done','2026-11-02T08:00:01.000+00:00','2026-11-02T08:00:03.000+00:00',1.5,0,NULL,'{"ok": true}',NULL);
INSERT INTO "runs" VALUES('r-old','Saisie','workflows/saisie.yaml','succeeded','2026-11-02T08:00:00.000+00:00','2026-11-02T08:00:03.500+00:00',3.0,NULL,'{"n": [1, "é"]}','{"items_done": 1}','logs/runs/r-old',4242,'bot-1',NULL,0,'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',NULL,1,'2026-11-02T08:00:00.000+00:00',NULL,NULL);
INSERT INTO "schedule_fires" VALUES(1,'saisie/matin','2026-11-02T07:00:00.000000Z','cron','svc-1','vm',18971,1.79604862622378683091e+09,1.79604868622378683086e+09,'succeeded',NULL,NULL,1.79604862623891711236e+09,0,'r-old',NULL,NULL,NULL);
INSERT INTO "schedule_jobs" VALUES('saisie/matin',0,NULL,NULL);
INSERT INTO "schedule_jobs" VALUES('saisie',0,NULL,NULL);
INSERT INTO "schedule_jobs" VALUES('saisie/soir',1,1.79604862623936295507e+09,'alice');
INSERT INTO "schedule_services" VALUES('svc-1','vm',18971,1.79604862620831751823e+09,1.79604862620831751823e+09,'starting',0,'workflows');
INSERT INTO "steps" VALUES(1,'r-old','s1','Saisir','A-1',0,'succeeded','2026-11-02T08:00:02.000+00:00',0.5,NULL);
