CREATE TABLE "event_day_counts" (
	"app_id" uuid NOT NULL,
	"environment" text NOT NULL,
	"day" date NOT NULL,
	"event_type" text NOT NULL,
	"count" integer NOT NULL,
	CONSTRAINT "event_day_counts_app_id_environment_day_event_type_pk" PRIMARY KEY("app_id","environment","day","event_type")
);
--> statement-breakpoint
CREATE TABLE "event_rollup_state" (
	"app_id" uuid PRIMARY KEY NOT NULL,
	"rolled_up_to" bigint DEFAULT 0 NOT NULL,
	"checkpoint_seq" bigint,
	"checkpoint_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "event_day_counts" ADD CONSTRAINT "event_day_counts_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "event_rollup_state" ADD CONSTRAINT "event_rollup_state_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;