# The whole schema; bin/setup loads it (idempotent: an existing table is left alone).
ActiveRecord::Schema.define(version: 1) do
  create_table :items, id: :bigint, if_not_exists: true do |t|
    t.bigint :seq, null: false
    t.datetime :created_at, null: false, precision: 6
    t.index :seq, unique: true
  end
end
