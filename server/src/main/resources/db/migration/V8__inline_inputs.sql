-- Small prediction inputs live in their row: the group commit that makes the row durable makes its input durable
-- too, instead of one file write and fsync per prediction. Larger inputs stay in the blob store.
ALTER TABLE prediction ADD COLUMN input_inline BYTEA;
