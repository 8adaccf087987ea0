-- Files and folders share one namespace per parent folder. The unique indexes cover each table on its
-- own; these triggers refuse a live file named like a live sibling folder and the other way round, in
-- the same write (a check before the write alone let two concurrent requests both pass).
CREATE TRIGGER `files_live_name_vs_folders_insert` BEFORE INSERT ON `files`
WHEN NEW.`trashed_at` IS NULL AND EXISTS (
  SELECT 1 FROM `folders` WHERE `folders`.`space_kind` = NEW.`space_kind` AND `folders`.`space_id` = NEW.`space_id`
    AND `folders`.`parent_id` IS NEW.`folder_id` AND `folders`.`name` = NEW.`name` AND `folders`.`trashed_at` IS NULL
)
BEGIN
  SELECT RAISE(ABORT, 'UNIQUE constraint failed: a live folder in the same folder has this name');
END;
--> statement-breakpoint
CREATE TRIGGER `files_live_name_vs_folders_update` BEFORE UPDATE OF `name`, `folder_id`, `trashed_at`, `space_id`, `space_kind` ON `files`
WHEN NEW.`trashed_at` IS NULL AND EXISTS (
  SELECT 1 FROM `folders` WHERE `folders`.`space_kind` = NEW.`space_kind` AND `folders`.`space_id` = NEW.`space_id`
    AND `folders`.`parent_id` IS NEW.`folder_id` AND `folders`.`name` = NEW.`name` AND `folders`.`trashed_at` IS NULL
)
BEGIN
  SELECT RAISE(ABORT, 'UNIQUE constraint failed: a live folder in the same folder has this name');
END;
--> statement-breakpoint
CREATE TRIGGER `folders_live_name_vs_files_insert` BEFORE INSERT ON `folders`
WHEN NEW.`trashed_at` IS NULL AND EXISTS (
  SELECT 1 FROM `files` WHERE `files`.`space_kind` = NEW.`space_kind` AND `files`.`space_id` = NEW.`space_id`
    AND `files`.`folder_id` IS NEW.`parent_id` AND `files`.`name` = NEW.`name` AND `files`.`trashed_at` IS NULL
)
BEGIN
  SELECT RAISE(ABORT, 'UNIQUE constraint failed: a live file in the same folder has this name');
END;
--> statement-breakpoint
CREATE TRIGGER `folders_live_name_vs_files_update` BEFORE UPDATE OF `name`, `parent_id`, `trashed_at`, `space_id`, `space_kind` ON `folders`
WHEN NEW.`trashed_at` IS NULL AND EXISTS (
  SELECT 1 FROM `files` WHERE `files`.`space_kind` = NEW.`space_kind` AND `files`.`space_id` = NEW.`space_id`
    AND `files`.`folder_id` IS NEW.`parent_id` AND `files`.`name` = NEW.`name` AND `files`.`trashed_at` IS NULL
)
BEGIN
  SELECT RAISE(ABORT, 'UNIQUE constraint failed: a live file in the same folder has this name');
END;
