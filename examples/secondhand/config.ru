# Rack entry point: puma loads this (config/puma.rb names no app, so puma finds config.ru).
require_relative "config/environment"

run Rails.application
