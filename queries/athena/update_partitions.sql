-- execaudit sync --engine athena --athena-create: a table created earlier learns the accounts
-- and regions found in the bucket since (partition projection enumerates them).
ALTER TABLE {{table}} SET TBLPROPERTIES (
  'projection.account.values' = '{{accounts}}',
  'projection.region.values' = '{{regions}}'
);
