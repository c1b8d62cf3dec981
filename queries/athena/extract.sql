-- execaudit sync --engine athena: the exec and exec-related control events of the partitions
-- (account, region, delivery day) not read yet, with the columns the store needs. Whole day
-- partitions are read, as `sync` reads whole day folders: Athena bills the files it opens,
-- whatever the eventtime. {{selection}} is rendered from execaudit's one definition of what it
-- keeps (model::normalize::SELECTION, which the local scanner's classify walks too);
-- {{partitions}} from the range, --accounts, --regions and the checkpoint. The rows go through
-- the same normaliser as local records; useridentity arrives as a JSON object.
SELECT
  eventversion,
  json_format(CAST(useridentity AS JSON)) AS useridentity,
  eventtime,
  eventsource,
  eventname,
  awsregion,
  sourceipaddress,
  useragent,
  errorcode,
  errormessage,
  requestparameters,
  responseelements,
  eventid,
  recipientaccountid,
  "$path" AS object
FROM {{table}}
WHERE ({{partitions}})
  AND ({{selection}});
