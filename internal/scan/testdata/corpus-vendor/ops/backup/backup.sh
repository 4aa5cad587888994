#!/bin/sh
# Nightly dump of the reporting database to object storage.
export PGPASSWORD='vNDZwTq68nJ3bG97-1'
export RESTIC_PASSWORD_FILE=/etc/restic/password
export BACKUP_SECRET=uuJnWmYKKa5SVdnDyEA94T6xIyDWhbYIsk6MOMiG
pg_dump -h reporting-db.internal -U reporting reporting | gzip > /backups/reporting-$(date +%F).sql.gz
restic backup /backups --tag nightly
