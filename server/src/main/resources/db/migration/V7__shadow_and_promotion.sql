-- Shadow deployment: what the deployment's shadow model made of a served prediction's input, on the same row.
-- shadow_status: 'pending' (queued; the result is written when it arrives), 'ok', 'error' or 'skipped' (the shadow's
-- queue was full). All null when no shadow ran for the prediction.
ALTER TABLE prediction ADD COLUMN shadow_model_version_id VARCHAR(40);
ALTER TABLE prediction ADD COLUMN shadow_status VARCHAR(10);
ALTER TABLE prediction ADD COLUMN shadow_label VARCHAR(200);
ALTER TABLE prediction ADD COLUMN shadow_confidence DOUBLE PRECISION;
ALTER TABLE prediction ADD COLUMN shadow_scores_json TEXT;
ALTER TABLE prediction ADD COLUMN shadow_latency_ms DOUBLE PRECISION;
ALTER TABLE prediction ADD COLUMN shadow_error VARCHAR(1000);
-- The live comparison reads one primary/shadow pair since the shadow was set.
CREATE INDEX prediction_shadow ON prediction (deployment_id, shadow_model_version_id, created_at);

-- When the current shadow was set (its comparison starts there), and the primary a rollback restores.
ALTER TABLE deployment ADD COLUMN shadow_since TIMESTAMP WITH TIME ZONE;
ALTER TABLE deployment ADD COLUMN previous_primary_model_version_id VARCHAR(40);
ALTER TABLE deployment ADD CONSTRAINT deployment_previous_primary FOREIGN KEY (previous_primary_model_version_id)
    REFERENCES model_version (id);

-- Continuous deployment of a deployment: what happens to versions made by continuous training (policy), and the
-- promoter (a PromotionPolicy extension type) with its validated settings that decides shadow promotions.
-- last_decision_json remembers the last recorded decision, so that an unchanged KEEP_WAITING is not recorded again.
CREATE TABLE continuous_deployment (
    deployment_id       VARCHAR(40)  PRIMARY KEY REFERENCES deployment (id),
    policy              VARCHAR(20)  NOT NULL,
    promoter            VARCHAR(100) NOT NULL,
    settings_json       TEXT         NOT NULL,
    evaluation_interval VARCHAR(40)  NOT NULL,
    active              BOOLEAN      NOT NULL,
    last_decision_json  TEXT,
    created_by          VARCHAR(200) NOT NULL,
    created_at          TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_by          VARCHAR(200) NOT NULL,
    updated_at          TIMESTAMP WITH TIME ZONE NOT NULL
);
