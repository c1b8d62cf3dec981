-- execaudit sync --engine athena --athena-create: the database of the CloudTrail table.
CREATE DATABASE IF NOT EXISTS {{database}};
