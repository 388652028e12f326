-- Continuous training settings of a deployment (PUT /api/deployments/{d}/continuous-training).
-- triggers_json: [{"type", "config"}]; trainer_json: {"type": "builtin"|"command", ...};
-- provisioner_config_json: the provisioner extension's settings. run_counter numbers the runs ({n} in the name).
CREATE TABLE continuous_training (
    deployment_id           VARCHAR(40)  PRIMARY KEY REFERENCES deployment (id),
    active                  BOOLEAN      NOT NULL,
    experiment_name         VARCHAR(200) NOT NULL,
    gpu_type                VARCHAR(100),
    allow_cpu_fallback      BOOLEAN      NOT NULL,
    provisioner             VARCHAR(100) NOT NULL,
    provisioner_config_json TEXT         NOT NULL,
    trainer_json            TEXT         NOT NULL,
    triggers_json           TEXT         NOT NULL,
    cooldown_seconds        BIGINT       NOT NULL,
    timeout_seconds         BIGINT       NOT NULL,
    run_counter             INTEGER      NOT NULL,
    updated_by              VARCHAR(200) NOT NULL,
    updated_at              TIMESTAMP WITH TIME ZONE NOT NULL
);

-- Training runs: QUEUED -> PROVISIONING -> RUNNING -> SUCCEEDED | FAILED | CANCELLED.
-- dataset_versions_json: [{"dataset_version_id", "high_water_mark"}] (what the run saw).
-- job_handle_json: the provisioner's handle, kept to find the job again after a restart.
CREATE TABLE training_run (
    id                      VARCHAR(40)  PRIMARY KEY,
    deployment_id           VARCHAR(40)  NOT NULL REFERENCES deployment (id),
    number                  INTEGER      NOT NULL,
    name                    VARCHAR(200) NOT NULL,
    status                  VARCHAR(20)  NOT NULL,
    trigger_type            VARCHAR(100) NOT NULL,
    trigger_reason          TEXT         NOT NULL,
    trigger_evidence_json   TEXT         NOT NULL,
    base_model_version_id   VARCHAR(40)  NOT NULL REFERENCES model_version (id),
    dataset_versions_json   TEXT         NOT NULL,
    provisioner             VARCHAR(100) NOT NULL,
    provisioner_config_json TEXT         NOT NULL,
    gpu_type                VARCHAR(100),
    allow_cpu_fallback      BOOLEAN      NOT NULL,
    trainer_json            TEXT         NOT NULL,
    device                  VARCHAR(300),
    job_handle_json         TEXT,
    attempts                INTEGER      NOT NULL,
    next_attempt_at         TIMESTAMP WITH TIME ZONE,
    log_offset              BIGINT       NOT NULL,
    heartbeat_at            TIMESTAMP WITH TIME ZONE,
    timeout_seconds         BIGINT       NOT NULL,
    message                 TEXT,
    metrics_json            TEXT,
    result_model_version_id VARCHAR(40)  REFERENCES model_version (id),
    created_by              VARCHAR(200) NOT NULL,
    created_at              TIMESTAMP WITH TIME ZONE NOT NULL,
    started_at              TIMESTAMP WITH TIME ZONE,
    finished_at             TIMESTAMP WITH TIME ZONE,
    CONSTRAINT training_run_number UNIQUE (deployment_id, number)
);
CREATE INDEX training_run_deployment ON training_run (deployment_id, number);
CREATE INDEX training_run_status ON training_run (status);

-- The run's console, in chunks as they arrive; start is the character offset of the chunk's first character.
CREATE TABLE training_run_log (
    run_id VARCHAR(40) NOT NULL REFERENCES training_run (id),
    start  BIGINT      NOT NULL,
    text   TEXT        NOT NULL,
    PRIMARY KEY (run_id, start)
);

-- What each trigger of a deployment last decided (for lastEvaluatedAt and for the UI's progress).
CREATE TABLE trigger_state (
    deployment_id     VARCHAR(40)  NOT NULL REFERENCES deployment (id),
    trigger_index     INTEGER      NOT NULL,
    trigger_type      VARCHAR(100) NOT NULL,
    evaluated_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    fired             BOOLEAN      NOT NULL,
    reason            TEXT         NOT NULL,
    evidence_json     TEXT         NOT NULL,
    PRIMARY KEY (deployment_id, trigger_index)
);
