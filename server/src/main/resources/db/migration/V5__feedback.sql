-- Review of predictions: TO_REVIEW -> REVIEWED (accept / correct / reject) -> SUBMITTED (reached the datasets).
ALTER TABLE prediction ADD COLUMN review_action VARCHAR(10);
ALTER TABLE prediction ADD COLUMN reviewed_label VARCHAR(200);
ALTER TABLE prediction ADD COLUMN reviewed_by VARCHAR(200);
ALTER TABLE prediction ADD COLUMN reviewed_at TIMESTAMP WITH TIME ZONE;
ALTER TABLE prediction ADD COLUMN flag_reason VARCHAR(500);
ALTER TABLE prediction ADD COLUMN flagged_by VARCHAR(200);
ALTER TABLE prediction ADD COLUMN flagged_at TIMESTAMP WITH TIME ZONE;
ALTER TABLE prediction ADD COLUMN submitted_at TIMESTAMP WITH TIME ZONE;
-- 0..9999 from the prediction id: a deterministic sample of ordinary traffic enters the review queue.
ALTER TABLE prediction ADD COLUMN review_bucket INTEGER DEFAULT 0 NOT NULL;

-- The review queue reads TO_REVIEW predictions by confidence; the counters read reviews by time.
CREATE INDEX prediction_queue ON prediction (deployment_id, status, confidence);
CREATE INDEX prediction_reviewed ON prediction (deployment_id, reviewed_at, review_action);

-- The feedback loop of a deployment: while active, reviewed predictions flow into the attached dataset versions.
CREATE TABLE feedback_loop (
    deployment_id VARCHAR(40)  PRIMARY KEY REFERENCES deployment (id),
    active        BOOLEAN      NOT NULL,
    created_by    VARCHAR(200) NOT NULL,
    created_at    TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at    TIMESTAMP WITH TIME ZONE NOT NULL
);

CREATE TABLE feedback_loop_dataset_version (
    deployment_id      VARCHAR(40)  NOT NULL REFERENCES feedback_loop (deployment_id),
    dataset_version_id VARCHAR(40)  NOT NULL REFERENCES dataset_version (id),
    attached_by        VARCHAR(200) NOT NULL,
    attached_at        TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (deployment_id, dataset_version_id)
);

-- The training data drift is measured against (Picsellia's set_training_data).
ALTER TABLE deployment ADD COLUMN reference_dataset_version_id VARCHAR(40);
ALTER TABLE deployment ADD CONSTRAINT deployment_reference FOREIGN KEY (reference_dataset_version_id)
    REFERENCES dataset_version (id);
