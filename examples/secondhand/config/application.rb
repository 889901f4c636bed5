require_relative "boot"

# Only the two frameworks the app uses: no Action Mailer, Active Storage, Action Cable, Sprockets.
require "rails"
require "active_record/railtie"
require "action_controller/railtie"

module Secondhand
  class Application < Rails::Application
    config.load_defaults 6.1
    config.api_only = true

    # Nothing here is signed or encrypted (no cookies, no sessions), yet Rails insists on a key in
    # production: take it from the environment, or make one per boot.
    config.secret_key_base = ENV["SECRET_KEY_BASE"] || SecureRandom.hex(64)

    # Logs go to stdout, which the process manager (puma's log file in the lab) keeps.
    config.logger = ActiveSupport::Logger.new($stdout)
    config.log_level = :info
  end
end
