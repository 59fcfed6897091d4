CREATE TABLE "access_levels" (
	"app_id" uuid NOT NULL,
	"id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "access_levels_app_id_id_pk" PRIMARY KEY("app_id","id")
);
--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" uuid PRIMARY KEY NOT NULL,
	"app_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"key_hash" text NOT NULL,
	"hint" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "api_keys_key_hash_unique" UNIQUE("key_hash")
);
--> statement-breakpoint
CREATE TABLE "apps" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"rate_limit_per_minute" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "operator_settings" (
	"key" text PRIMARY KEY NOT NULL,
	"value" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "profile_installations" (
	"profile_id" uuid NOT NULL,
	"app_id" uuid NOT NULL,
	"device_id" text NOT NULL,
	"platform" text,
	"device" text,
	"locale" text,
	"os" text,
	"timezone" text,
	"user_agent" text,
	"app_build" text,
	"app_version" text,
	"adapty_sdk_version" text,
	"idfa" text,
	"idfv" text,
	"advertising_id" text,
	"android_id" text,
	"android_app_set_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "profile_installations_profile_id_device_id_pk" PRIMARY KEY("profile_id","device_id")
);
--> statement-breakpoint
CREATE TABLE "profiles" (
	"id" uuid PRIMARY KEY NOT NULL,
	"app_id" uuid NOT NULL,
	"customer_user_id" text,
	"first_name" text,
	"last_name" text,
	"gender" text,
	"email" text,
	"phone_number" text,
	"birthday" date,
	"ip_country" text,
	"ip_v4_address" text,
	"store_country" text,
	"store" text,
	"store_account_token" text,
	"att_status" smallint,
	"analytics_disabled" boolean,
	"custom_attributes" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"integration_ids" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"refund_saver_consent" boolean,
	"refund_saver_preference" text,
	"total_revenue_usd" double precision DEFAULT 0 NOT NULL,
	"segment_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "access_levels" ADD CONSTRAINT "access_levels_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "profile_installations" ADD CONSTRAINT "profile_installations_profile_id_profiles_id_fk" FOREIGN KEY ("profile_id") REFERENCES "public"."profiles"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "profile_installations" ADD CONSTRAINT "profile_installations_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "profiles" ADD CONSTRAINT "profiles_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "profiles_app_customer_user_id_key" ON "profiles" USING btree ("app_id","customer_user_id");