# The app runs on Debian's packaged Rails (ruby-railties, ruby-activerecord, ruby-mysql2, puma):
# every gem is a system gem, so there is no Gemfile and no Bundler, and the app boots offline.
ENV["RAILS_ENV"] ||= ENV["RACK_ENV"] || "development"
