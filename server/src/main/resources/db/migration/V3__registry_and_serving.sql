-- Registered models: a name under which versions are uploaded.
CREATE TABLE model (
    id            VARCHAR(40)  PRIMARY KEY,
    name          VARCHAR(200) NOT NULL UNIQUE,
    created_by    VARCHAR(200) NOT NULL,
    created_at    TIMESTAMP WITH TIME ZONE NOT NULL
);

-- Immutable model versions, numbered 1, 2, … per model. The artifact is a content-addressed blob; metadata_json is
-- the normalised model.json of the "Model artifact" contract.
CREATE TABLE model_version (
    id                VARCHAR(40)  PRIMARY KEY,
    model_id          VARCHAR(40)  NOT NULL REFERENCES model (id),
    version           INTEGER      NOT NULL,
    format            VARCHAR(40)  NOT NULL,
    metadata_json     TEXT         NOT NULL,
    artifact_file     VARCHAR(255) NOT NULL,
    artifact_sha256   VARCHAR(64)  NOT NULL,
    artifact_size     BIGINT       NOT NULL,
    -- lineage: filled by the training loop; null for uploads by hand
    parent_version_id VARCHAR(40)  REFERENCES model_version (id),
    training_run_id   VARCHAR(40),
    created_by        VARCHAR(200) NOT NULL,
    created_at        TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT model_version_number UNIQUE (model_id, version)
);

-- Deployments serve their primary version (and later run a shadow beside it). settings_json holds
-- {"capture_mode": "durable" | "async"}.
CREATE TABLE deployment (
    id                       VARCHAR(40)  PRIMARY KEY,
    name                     VARCHAR(200) NOT NULL UNIQUE,
    primary_model_version_id VARCHAR(40)  NOT NULL REFERENCES model_version (id),
    shadow_model_version_id  VARCHAR(40)  REFERENCES model_version (id),
    settings_json            TEXT         NOT NULL,
    created_by               VARCHAR(200) NOT NULL,
    created_at               TIMESTAMP WITH TIME ZONE NOT NULL
);

-- Every prediction, served here (source 'served') or made elsewhere and logged (source 'logged'). The input is a
-- blob holding exactly the predict payload. Ids are time-ordered, so id order is creation order.
CREATE TABLE prediction (
    id                 VARCHAR(40)  PRIMARY KEY,
    deployment_id      VARCHAR(40)  NOT NULL REFERENCES deployment (id),
    model_version_id   VARCHAR(40)  REFERENCES model_version (id),
    source             VARCHAR(10)  NOT NULL,
    status             VARCHAR(20)  NOT NULL,
    input_sha256       VARCHAR(64)  NOT NULL,
    input_content_type VARCHAR(100) NOT NULL,
    input_size         BIGINT       NOT NULL,
    label              VARCHAR(200) NOT NULL,
    confidence         DOUBLE PRECISION NOT NULL,
    scores_json        TEXT         NOT NULL,
    latency_ms         DOUBLE PRECISION,
    created_at         TIMESTAMP WITH TIME ZONE NOT NULL
);
-- The list of a deployment's predictions, newest first, and its filters.
CREATE INDEX prediction_deployment_id ON prediction (deployment_id, id);
CREATE INDEX prediction_deployment_status ON prediction (deployment_id, status, id);
CREATE INDEX prediction_deployment_version ON prediction (deployment_id, model_version_id, id);
CREATE INDEX prediction_deployment_label ON prediction (deployment_id, label, id);
CREATE INDEX prediction_deployment_created ON prediction (deployment_id, created_at);
CREATE INDEX prediction_deployment_confidence ON prediction (deployment_id, confidence);
