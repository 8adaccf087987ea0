CREATE TABLE `follower_nodes` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`base_url` text DEFAULT '' NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`enrollment_token_hash` text,
	`enrollment_expires_at` integer,
	`enrollment_status` text DEFAULT 'not_started' NOT NULL,
	`enrolled_at` integer,
	`key_id` text,
	`secret_enc` text,
	`last_probe_json` text,
	`last_probe_at` integer,
	`last_probe_error` text,
	`last_good_probe_json` text,
	`last_good_probe_at` integer,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `follower_nodes_name_unique` ON `follower_nodes` (`name`);--> statement-breakpoint
CREATE UNIQUE INDEX `follower_nodes_enrollment_token_hash_unique` ON `follower_nodes` (`enrollment_token_hash`);--> statement-breakpoint
CREATE UNIQUE INDEX `follower_nodes_key_id_unique` ON `follower_nodes` (`key_id`);--> statement-breakpoint
CREATE TABLE `ingress_targets` (
	`id` text PRIMARY KEY NOT NULL,
	`node_id` text NOT NULL,
	`target_key` text NOT NULL,
	`name` text NOT NULL,
	`driver` text NOT NULL,
	`base_path` text DEFAULT '' NOT NULL,
	`s3_endpoint` text,
	`s3_region` text,
	`s3_bucket` text,
	`s3_force_path_style` integer DEFAULT true NOT NULL,
	`s3_access_key_enc` text,
	`s3_secret_key_enc` text,
	`is_default` integer DEFAULT false NOT NULL,
	`revision` integer DEFAULT 1 NOT NULL,
	`applied_revision` integer,
	`state` text DEFAULT 'pending' NOT NULL,
	`reason` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`node_id`) REFERENCES `follower_nodes`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ingress_targets_target_key_unique` ON `ingress_targets` (`target_key`);--> statement-breakpoint
CREATE UNIQUE INDEX `ingress_targets_node_name_idx` ON `ingress_targets` (`node_id`,`name`);--> statement-breakpoint
CREATE UNIQUE INDEX `ingress_targets_one_default_idx` ON `ingress_targets` (`node_id`) WHERE "ingress_targets"."is_default" = 1;--> statement-breakpoint
CREATE TABLE `login_attempts` (
	`key` text PRIMARY KEY NOT NULL,
	`failures` integer NOT NULL,
	`window_started_at` integer NOT NULL,
	`locked_until` integer
);
--> statement-breakpoint
CREATE TABLE `node_events` (
	`id` text PRIMARY KEY NOT NULL,
	`node_id` text NOT NULL,
	`at` integer NOT NULL,
	`level` text NOT NULL,
	`kind` text NOT NULL,
	`message` text NOT NULL,
	FOREIGN KEY (`node_id`) REFERENCES `follower_nodes`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `node_events_node_at_idx` ON `node_events` (`node_id`,`at`);--> statement-breakpoint
CREATE TABLE `policy_group_rules` (
	`id` text PRIMARY KEY NOT NULL,
	`group_id` text NOT NULL,
	`policy_id` text NOT NULL,
	`priority` integer NOT NULL,
	`min_size` integer DEFAULT 0 NOT NULL,
	`max_size` integer DEFAULT 0 NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`group_id`) REFERENCES `policy_groups`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`policy_id`) REFERENCES `storage_policies`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `policy_group_rules_priority_idx` ON `policy_group_rules` (`group_id`,`priority`);--> statement-breakpoint
CREATE UNIQUE INDEX `policy_group_rules_policy_idx` ON `policy_group_rules` (`group_id`,`policy_id`);--> statement-breakpoint
CREATE INDEX `policy_group_rules_policy_ref_idx` ON `policy_group_rules` (`policy_id`);--> statement-breakpoint
CREATE TABLE `policy_groups` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`is_default` integer DEFAULT false NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `policy_groups_name_unique` ON `policy_groups` (`name`);--> statement-breakpoint
CREATE UNIQUE INDEX `policy_groups_one_default_idx` ON `policy_groups` (`is_default`) WHERE "policy_groups"."is_default" = 1;--> statement-breakpoint
CREATE TABLE `sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`token_hash` text NOT NULL,
	`user_id` text NOT NULL,
	`kind` text NOT NULL,
	`name` text DEFAULT '' NOT NULL,
	`expires_at` integer NOT NULL,
	`last_used_at` integer,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `sessions_token_hash_unique` ON `sessions` (`token_hash`);--> statement-breakpoint
CREATE INDEX `sessions_user_idx` ON `sessions` (`user_id`);--> statement-breakpoint
CREATE INDEX `sessions_expires_idx` ON `sessions` (`expires_at`);--> statement-breakpoint
CREATE TABLE `storage_policies` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`driver` text NOT NULL,
	`node_id` text,
	`max_file_size` integer DEFAULT 0 NOT NULL,
	`chunk_size` integer DEFAULT 5242880 NOT NULL,
	`upload_mode` text DEFAULT 'relay_stream' NOT NULL,
	`download_mode` text DEFAULT 'relay_stream' NOT NULL,
	`key_prefix` text DEFAULT '' NOT NULL,
	`s3_endpoint` text,
	`s3_region` text,
	`s3_bucket` text,
	`s3_force_path_style` integer DEFAULT true NOT NULL,
	`s3_access_key_enc` text,
	`s3_secret_key_enc` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`node_id`) REFERENCES `follower_nodes`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `storage_policies_name_unique` ON `storage_policies` (`name`);--> statement-breakpoint
CREATE TABLE `team_members` (
	`team_id` text NOT NULL,
	`user_id` text NOT NULL,
	`role` text DEFAULT 'member' NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	PRIMARY KEY(`team_id`, `user_id`),
	FOREIGN KEY (`team_id`) REFERENCES `teams`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `team_members_user_idx` ON `team_members` (`user_id`);--> statement-breakpoint
CREATE TABLE `teams` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`policy_group_id` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`policy_group_id`) REFERENCES `policy_groups`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `teams_name_unique` ON `teams` (`name`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` text PRIMARY KEY NOT NULL,
	`username` text NOT NULL,
	`display_name` text DEFAULT '' NOT NULL,
	`password_hash` text NOT NULL,
	`role` text DEFAULT 'user' NOT NULL,
	`disabled` integer DEFAULT false NOT NULL,
	`policy_group_id` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`policy_group_id`) REFERENCES `policy_groups`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_username_unique` ON `users` (`username`);